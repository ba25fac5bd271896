"""Config name -> method. A method file registers itself; nothing else needs editing."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from src.fields import check_settings

from .base import Adapter, AdapterError
from .placement import Placement


@dataclass
class MethodConfig:
    """Settings every method shares. Methods subclass this with their own fields."""

    name: str = ""
    train_layernorm: bool = False
    train_head: bool = True
    trains_everything: bool = False
    trains_biases: bool = False

    def __post_init__(self) -> None:
        check_settings(self, "adapter")  # ranges and choices declared on the fields with ``setting(...)``
        self.validate()

    def validate(self) -> None:
        """Refuse bad settings at construction with the fix in the message."""

    @property
    def starts_as(self) -> str:
        """How the output at step 0 relates to the base model's (a key of ``STARTS_AS``): what the method declared
        in ``register``, unless its config overrides this for settings that change it (KronA's SVD init)."""
        return get_method(self.name).starts_as


ApplyFn = Callable[[nn.Module, Any, Placement], list[Adapter]]


STARTS_AS = {
    "base": "its output at step 0 equals the base model's, bit for bit (a zero-initialised update)",
    "near_base": "its output at step 0 is within 2% of the base model's (a near-identity initialisation)",
    "changed": "it changes the output at step 0 by design (KronA^B_res's residual, prefix tuning's prefixes)",
}


@dataclass(frozen=True)
class Method:
    name: str
    config: type[MethodConfig]
    apply: ApplyFn
    summary: str
    starts_as: str  # one of STARTS_AS; what the generic tests check at step 0


METHODS: dict[str, Method] = {}


def register(name: str, config: type[MethodConfig], *, starts_as: str) -> Callable[[ApplyFn], ApplyFn]:
    """Decorate a method's ``apply(model, cfg, placement)`` to make ``adapter=<name>`` select it. ``starts_as``
    declares how its output at step 0 relates to the base model's (a key of ``STARTS_AS``); which parameters
    it trains beyond its own is declared on its config (``trains_everything``, ``trains_biases``)."""
    if starts_as not in STARTS_AS:
        raise ValueError(f"register({name!r}): starts_as={starts_as!r} is not one of {sorted(STARTS_AS)}.")

    def decorator(apply: ApplyFn) -> ApplyFn:
        summary = (apply.__doc__ or "").strip().splitlines()[0] if apply.__doc__ else name
        METHODS[name] = Method(name, config, apply, summary, starts_as)
        return apply

    return decorator


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise AdapterError(f"unknown adapter {name!r}. Choose one of: {', '.join(sorted(METHODS))}.")
    return METHODS[name]


def build_config(settings: Mapping[str, Any]) -> MethodConfig:
    """Turn the ``adapter`` config group (a mapping with ``name``) into the method's dataclass."""
    settings = dict(settings)
    method = get_method(settings.get("name", ""))
    fields = {f.name for f in dataclasses.fields(method.config)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise AdapterError(
            f"adapter {method.name!r} has no setting(s) {unknown}. Valid settings: {sorted(fields)}."
        )
    return method.config(**settings)
