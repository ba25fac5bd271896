"""The ``trainer`` group: Lightning Trainer keyword arguments; kronlab's own are typed here, any other is
allowed (``+trainer.fast_dev_run=true``) and checked against the Trainer's signature before the run starts."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from lightning.fabric.connector import _PRECISION_INPUT

from src.errors import ConfigError
from src.fields import check_settings, setting

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
KRONLAB_KEYS = ("compile", "compile_backend")  # typed here, read by kronlab, never passed to the Trainer
PRECISIONS = tuple(
    value for literal in typing.get_args(_PRECISION_INPUT) for value in typing.get_args(literal)
)


@dataclass
class TrainerSettings(dict[str, Any]):  # a dict subclass: OmegaConf accepts keys beyond the fields below
    _target_: str = "lightning.pytorch.Trainer"
    accelerator: str = "auto"  # auto | cpu | gpu | ...
    devices: Any = 1  # a count, a list of device ids, or "auto"
    max_epochs: int | None = setting(3, ge=-1)  # -1: until max_steps
    max_steps: int = setting(-1, ge=-1)  # -1: max_epochs decides
    # An int is a number of batches, a float a fraction of them (so these stay untyped: 1 and 1.0 differ).
    limit_train_batches: Any = setting(None, ge=0)
    limit_val_batches: Any = setting(None, ge=0)
    limit_test_batches: Any = setting(None, ge=0)
    val_check_interval: Any = None  # int: every n training batches, float: fraction of an epoch
    accumulate_grad_batches: int = setting(1, ge=1)
    gradient_clip_val: float | None = setting(1.0, ge=0)  # null or 0: no clipping
    log_every_n_steps: int = setting(5, ge=1)  # a 16-step run still draws a loss curve of three points
    check_val_every_n_epoch: int | None = setting(1, ge=1)
    num_sanity_val_steps: int = setting(0, ge=-1)
    precision: Any = setting("32-true", choices=PRECISIONS)
    deterministic: Any = setting(False, choices=(True, False, "warn"))
    enable_model_summary: bool = False  # kronlab prints its own parameter table (callbacks.param_count)
    # kronlab's own, not the Trainer's: torch.compile the model in place before fitting (src/training/compiled.py)
    compile: Any = setting(False, choices=(False, True, *COMPILE_MODES))  # true: mode "default"
    compile_backend: str = "inductor"  # torch.compile's backend (aot_eager: trace without generating code)

    def __post_init__(self) -> None:
        check_settings(self, "trainer")
        if self.compile is False and self.compile_backend != "inductor":
            raise ConfigError(
                f"trainer.compile_backend={self.compile_backend} with trainer.compile=false: nothing is compiled. "
                "Set trainer.compile=true, or drop trainer.compile_backend."
            )
        if self.compile not in (False, True, "default") and self.compile_backend != "inductor":
            raise ConfigError(
                f"trainer.compile={self.compile} is an inductor mode, and trainer.compile_backend="
                f"{self.compile_backend} takes none: set trainer.compile=true, or trainer.compile_backend=inductor."
            )


def trainer_keywords(values: dict[str, Any]) -> dict[str, Any]:
    """The Trainer's own keyword arguments of a ``trainer`` group (kronlab's keys taken out)."""
    return {key: value for key, value in values.items() if key not in KRONLAB_KEYS}
