"""GLUE for kronlab: the task table, local/hub readers, split protocols and the DataModule."""

from src.errors import DataError

from .datamodule import GlueDataModule
from .tasks import TASKS, GlueTask, get_task
from .text_to_text import format_input, format_target

__all__ = [
    "TASKS",
    "DataError",
    "GlueDataModule",
    "GlueTask",
    "format_input",
    "format_target",
    "get_task",
]
