"""A search space written in Hydra's sweep grammar (``tag(log, interval(1e-4, 5e-2))``, ``choice(4, 16)``,
``range(1, 9)``), the grammar lightning-hydra-template's search configs use, as Optuna distributions."""

from __future__ import annotations

from collections.abc import Mapping

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, RangeSweep
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from src.errors import ConfigError


def distribution(key: str, text: str) -> BaseDistribution:
    try:
        value = OverridesParser.create().parse_override(f"{key}={text}").value()
    except Exception as error:  # noqa: BLE001 - Hydra's grammar errors are long; one line names the key
        raise ConfigError(f"search space {key}: {text!r} is not a sweep ({error}); write e.g. "
                          "tag(log, interval(1e-4, 5e-2)) or choice(4, 16).") from None  # fmt: skip
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, ChoiceSweep):
        return CategoricalDistribution(list(value.list))
    if isinstance(value, RangeSweep):
        return IntDistribution(int(value.start), int(value.stop) - 1, step=int(value.step))
    raise ConfigError(
        f"search space {key}: {text!r} is one value, not a range; write choice(...) or interval(...)."
    )


def distributions(space: Mapping[str, str]) -> dict[str, BaseDistribution]:
    return {key: distribution(key, text) for key, text in space.items()}
