"""Python annotations -> the types OmegaConf can check; a schema dataclass from a dataclass or a signature."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, Optional, Union

from omegaconf import MISSING

PRIMITIVES = (int, float, bool, str)


def omegaconf_type(annotation: Any) -> Any:
    """The closest annotation OmegaConf checks: a primitive, Optional primitive, list/dict of primitives, else Any.

    Unions of several types (``list[int] | str``, ``int | float``) become Any: their owner checks them.
    """
    if annotation in PRIMITIVES or annotation is Any:
        return annotation
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = omegaconf_type(rest[0])
            # OmegaConf 2.3 cannot merge a mapping override onto a None Dict node: optional mappings stay Any.
            if inner is Any or typing.get_origin(inner) is dict:
                return Any
            return Optional[inner]  # noqa: UP045 (OmegaConf reads typing.Optional)
        return Any
    if origin is Literal:
        kinds = {type(a) for a in args}
        return kinds.pop() if len(kinds) == 1 and kinds <= set(PRIMITIVES) else Any
    if origin in (list, typing.List):  # noqa: UP006
        inner = omegaconf_type(args[0]) if args else Any
        return list[inner] if inner in PRIMITIVES else list[Any]
    if origin in (dict, typing.Dict):  # noqa: UP006
        return dict[str, Any]
    return Any


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return MISSING


def dataclass_schema(cls: type, defaults: dict[str, Any] | None = None) -> type:
    """A dataclass with ``cls``'s fields, types OmegaConf can check and ``cls``'s defaults (``defaults`` wins)."""
    hints = typing.get_type_hints(cls)
    specs = []
    for field in dataclasses.fields(cls):
        value = (defaults or {}).get(field.name, _default(field))
        factory = (
            dataclasses.field(default_factory=lambda v=value: v) if isinstance(value, (list, dict)) else value
        )
        specs.append((field.name, omegaconf_type(hints[field.name]), factory))
    return dataclasses.make_dataclass(cls.__name__, specs)


@functools.cache
def signature_schema(target: Callable[..., Any], skip: tuple[str, ...] = ()) -> type:
    """A dataclass with one field per keyword of ``target`` (a class or function), typed from its annotations."""
    function = target.__init__ if inspect.isclass(target) else target
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # annotations naming optional packages that are not installed
        hints = {}
    specs: list[tuple[str, Any, Any]] = [("_target_", str, MISSING)]
    for name, parameter in inspect.signature(function).parameters.items():
        if (
            name == "self"
            or name in skip
            or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        ):
            continue
        annotation = omegaconf_type(hints.get(name, Any))
        default = parameter.default
        if default is parameter.empty:
            default = MISSING
        elif not isinstance(default, (*PRIMITIVES, type(None))):
            annotation, default = Any, None  # an object default (a timedelta, a list): not checked here
        specs.append((name, annotation, dataclasses.field(default=default)))
    return dataclasses.make_dataclass(getattr(target, "__name__", "Target"), specs)


def accepts_any_keyword(target: Callable[..., Any]) -> bool:
    function = target.__init__ if inspect.isclass(target) else target
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(function).parameters.values())
