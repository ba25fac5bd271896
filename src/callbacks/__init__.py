"""Lightning callbacks that measure a run and write sections of its results.json: parameter counts,
merging (checked) before the test, inference latency, training speed."""

from .latency import LatencyCallback, LatencySettings, measure_latency
from .merge import MergeCallback, MergeMismatchError
from .param_count import ParamCountCallback, param_table
from .section import SectionCallback, StandaloneMeasure
from .standalone import standalone_sections
from .strip import without_adapters
from .train_speed import TrainSpeedCallback

__all__ = [
    "LatencyCallback",
    "LatencySettings",
    "MergeCallback",
    "MergeMismatchError",
    "ParamCountCallback",
    "SectionCallback",
    "StandaloneMeasure",
    "TrainSpeedCallback",
    "measure_latency",
    "param_table",
    "standalone_sections",
    "without_adapters",
]
