"""Settings fields that carry their own range or choices, and the one check that reads them.

A settings dataclass declares ``lr: float = setting(1e-3, gt=0)``; OmegaConf checks the type when the
config is composed, ``check_settings`` (called from ``__post_init__``) checks the range, so type, range
and default are written once, on the field. Pure Python: the adapters package uses it too.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from src.errors import ConfigError

RANGE = "kronlab_range"


@dataclasses.dataclass(frozen=True)
class Range:
    """Bounds (any may be None) or a list of choices; None always passes (the type says whether it may be None)."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    choices: Sequence[Any] | None = None

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value``, or None when it is fine."""
        if value is None or (isinstance(value, str) and value.startswith("${")):
            return (
                None  # None: the type says whether it may be None; an interpolation is checked once resolved
            )
        if self.choices is not None:
            return None if value in self.choices else f"choose one of {list(self.choices)}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"give a number {self.describe()}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"give a finite number {self.describe()}"
        broken = (
            (self.gt is not None and not value > self.gt)
            or (self.ge is not None and not value >= self.ge)
            or (self.lt is not None and not value < self.lt)
            or (self.le is not None and not value <= self.le)
        )
        return f"give a value {self.describe()}" if broken else None

    def describe(self) -> str:
        bounds = (("> ", self.gt), (">= ", self.ge), ("< ", self.lt), ("<= ", self.le))
        return " and ".join(f"{sign}{number(bound)}" for sign, bound in bounds if bound is not None)


def number(value: float) -> str:
    """``1`` for 1.0, ``0.001`` for 1e-3: bounds as a user would type them."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def setting(
    default: Any = dataclasses.MISSING,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: Sequence[Any] | None = None,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with its allowed values: ``setting(0.0, ge=0, lt=1)``, ``setting("linear", choices=[...])``."""
    metadata = {RANGE: Range(gt, ge, lt, le, tuple(choices) if choices is not None else None)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_settings(settings: Any, prefix: str = "", schema: type | None = None) -> None:
    """Raise ConfigError for the first field of ``settings`` outside its declared range or choices.

    ``schema`` is the dataclass whose fields to read, when ``settings`` is another object with the same
    attributes (a DictConfig); ``prefix`` is the config key of ``settings`` ("optim"), empty at the top.
    """
    for field in dataclasses.fields(schema or settings):
        allowed = field.metadata.get(RANGE)
        value = getattr(settings, field.name)
        problem = allowed.problem(value) if allowed else None
        if problem:
            default = field.default if field.default is not dataclasses.MISSING else None
            hint = f" (default {default!r})" if default is not None else ""
            key = f"{prefix}.{field.name}" if prefix else field.name
            raise ConfigError(f"{key}={value!r}: {problem}{hint}.")
