"""The typed config schema: every config group is a dataclass, registered with Hydra's ConfigStore.

OmegaConf refuses a wrong type while Hydra composes the config (``optim.lr=abc``); ``check_config``
then builds each group's dataclass, whose ``__post_init__`` refuses values out of range, before any
model is built. ``conf/train.yaml`` puts ``train_schema`` first in its defaults list, and each adapter
option's schema (``schema/adapter/<name>``, derived from the method's config dataclass) under it.
"""

from __future__ import annotations

import warnings

from hydra.core.config_store import ConfigStore

from .adapters import method_schemas
from .check import check_config
from .root import TrainSettings

# TrainSettings and TrainerSettings subclass dict so that sweeps and Lightning's other keywords fit beside
# the typed fields; OmegaConf 2.3 supports that and warns on every compose.
warnings.filterwarnings("ignore", message=r"Class `\w+` subclasses `Dict`", category=UserWarning)


def register() -> None:
    """Store the schemas in Hydra's ConfigStore (idempotent)."""
    store = ConfigStore.instance()
    store.store(name="train_schema", node=TrainSettings)
    for name, schema in method_schemas().items():
        store.store(group="schema/adapter", name=name, node=schema)


register()

__all__ = ["TrainSettings", "check_config", "register"]
