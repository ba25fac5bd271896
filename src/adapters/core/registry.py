"""Config name -> method. A method file registers itself (``register``), a variant is one line
(``register_variant``); nothing else needs editing. A method declares here what only it knows: how it starts,
its PEFT form (``to_peft``) and the settings a search tunes besides the learning rate (``search``)."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from torch import nn

from src.fields import check_settings

from .placement import Placement
from .protocol import Adapter, AdapterError


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

    def quantized_base_refusal(self) -> str | None:
        """Why these settings cannot train on a 4-/8-bit backbone (one line, saying what to do), or None."""
        if self.trains_everything:
            return (
                f"adapter={self.name} trains every backbone weight, and a 4-/8-bit weight cannot be trained: "
                "use a parameter-efficient method (lora, krona, lokr, ...) or backbone.quantize=none"
            )
        return None

    @property
    def starts_as(self) -> str:
        """How the output at step 0 relates to the base model's (a key of ``STARTS_AS``): what the method declared
        in ``register``, unless its config overrides this for settings that change it (KronA's SVD init)."""
        return get_method(self.name).starts_as


ApplyFn = Callable[[nn.Module, Any, Placement], list[Adapter]]
# to_peft(layers, hosts) -> (PEFT type, its config settings, fill(peft layer, adapter)): layers by host path
PeftForm = tuple[str, dict[str, Any], Callable[[nn.Module, Adapter], None]]
ToPeftFn = Callable[[dict[str, Adapter], dict[str, nn.Module]], PeftForm]


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
    to_peft: ToPeftFn | None = None  # its PEFT form, where it has one (export_peft)
    search: Mapping[str, str] = dataclasses.field(default_factory=dict)  # searched keys besides the lr


METHODS: dict[str, Method] = {}


def _check_starts_as(name: str, starts_as: str) -> None:
    if starts_as not in STARTS_AS:
        raise ValueError(f"register({name!r}): starts_as={starts_as!r} is not one of {sorted(STARTS_AS)}.")


def register(
    name: str,
    config: type[MethodConfig],
    *,
    starts_as: str,
    to_peft: ToPeftFn | None = None,
    search: Mapping[str, str] | None = None,
) -> Callable[[ApplyFn], ApplyFn]:
    """Decorate a method's ``apply(model, cfg, placement)`` to make ``adapter=<name>`` select it. ``starts_as``
    declares how its output at step 0 relates to the base model's (a key of ``STARTS_AS``); which parameters
    it trains beyond its own is declared on its config (``trains_everything``, ``trains_biases``). ``to_peft``
    gives its PEFT form (``export_peft`` refuses methods without one); ``search`` the settings a search tunes
    besides the learning rate, in Hydra's sweep grammar (``{"adapter.scale": "choice(4.0, 16.0)"}``)."""
    _check_starts_as(name, starts_as)

    def decorator(apply: ApplyFn) -> ApplyFn:
        summary = (apply.__doc__ or "").strip().splitlines()[0] if apply.__doc__ else name
        METHODS[name] = Method(name, config, apply, summary, starts_as, to_peft, dict(search or {}))
        return apply

    return decorator


def register_variant(
    name: str,
    *,
    of: str,
    summary: str,
    starts_as: str | None = None,
    config: type[MethodConfig] | None = None,
    **defaults: Any,
) -> Method:
    """``adapter=<name>`` is method ``of`` with other defaults: the same apply (its modules carry ``name``, from
    the config's ``name``), PEFT form and search, and a config class that differs only in ``defaults`` (a
    subclass of ``of``'s, or of ``config`` where the variant adds settings of its own)."""
    parent = get_method(of)
    base = config or parent.config
    if not issubclass(base, parent.config):
        raise ValueError(f"register_variant({name!r}): {base.__name__} is not a {parent.config.__name__}.")
    _check_starts_as(name, starts_as or parent.starts_as)
    class_name = (
        base.__name__ if config else "".join(part.capitalize() for part in name.split("_")) + "Config"
    )
    variant = with_defaults(base, class_name, {"name": name, **defaults})
    METHODS[name] = dataclasses.replace(
        parent, name=name, config=variant, summary=summary, starts_as=starts_as or parent.starts_as
    )
    return METHODS[name]


def with_defaults(
    config: type[MethodConfig], class_name: str, defaults: Mapping[str, Any]
) -> type[MethodConfig]:
    """A subclass of ``config`` whose fields in ``defaults`` default to those values (ranges and choices kept)."""
    fields = {f.name: f for f in dataclasses.fields(config)}
    unknown = sorted(set(defaults) - set(fields))
    if unknown:
        raise ValueError(f"{config.__name__} has no setting(s) {unknown} to give a variant's default.")
    hints = typing.get_type_hints(config)
    specs = []
    for key, value in defaults.items():
        default = (
            {"default_factory": lambda v=value: list(v) if isinstance(v, list) else dict(v)}
            if isinstance(value, (list, dict))
            else {"default": value}
        )
        specs.append((key, hints[key], dataclasses.field(metadata=fields[key].metadata, **default)))
    variant = dataclasses.make_dataclass(class_name, specs, bases=(config,))
    variant.__module__ = config.__module__
    return variant


def search_space(name: str) -> dict[str, str]:
    """The settings a search tunes for method ``name`` besides the learning rate, ``{key: sweep expression}`` in
    Hydra's sweep grammar (e.g. ``{"adapter.scale": "choice(4.0, 16.0)"}``); {} when it declares none."""
    return dict(get_method(name).search)


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
