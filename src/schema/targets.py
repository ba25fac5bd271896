"""``_target_`` configs (the trainer, the logger, each callback): their keys and value types checked against
the target's own signature, so a misspelt Lightning keyword is refused before the run, not inside it."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from src.errors import ConfigError

from .types import accepts_any_keyword, signature_schema

# What build_trainer passes itself, never from the config.
PASSED_BY_KRONLAB = ("callbacks", "plugins", "default_root_dir")


def check_target(node: DictConfig, key: str, skip: tuple[str, ...] = (), own: tuple[str, ...] = ()) -> None:
    """Refuse keys ``node``'s ``_target_`` does not take and values of the wrong type, naming ``key``; ``own``: keys
    kronlab reads itself (typed elsewhere) and never passes to the target."""
    target_path = node.get("_target_")
    try:
        target = get_object(target_path)
    except Exception as error:
        raise ConfigError(
            f"{key}._target_={target_path!r} cannot be imported ({error}); give a class path."
        ) from None
    schema = signature_schema(target, skip)
    values: dict[str, Any] = {
        k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if k not in own
    }
    known = set(schema.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown and not accepts_any_keyword(target):
        raise ConfigError(
            f"{key}.{unknown[0]} is not a keyword of {target_path}. Valid: {', '.join(sorted(known - {'_target_'}))}."
        )
    try:
        OmegaConf.merge(OmegaConf.structured(schema), {k: v for k, v in values.items() if k in known})
    except OmegaConfBaseException as error:
        wrong = getattr(error, "full_key", "") or ""
        given = values.get(wrong.split(".")[0].split("[")[0])
        raise ConfigError(
            f"{key}.{wrong}={given!r}: {first_line(error)}; see {target_path}'s arguments."
        ) from None
    check_choices(target, values, key)


def check_choices(target: Any, values: dict[str, Any], key: str) -> None:
    """A keyword annotated ``Literal[...]`` takes only those values (the schema can only type it as ``str``)."""
    function = target.__init__ if isinstance(target, type) else target
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # annotations naming optional packages that are not installed
        return
    for name, value in values.items():
        hint = optional_inner(hints.get(name))
        if value is None and hint is not hints.get(name):
            continue  # None for an optional keyword
        if typing.get_origin(hint) is Literal and value not in typing.get_args(hint):
            choices = ", ".join(map(str, typing.get_args(hint)))
            raise ConfigError(
                f"{key}.{name}={value!r} is not one of {choices}: give {key}.{name}=<one of them>."
            )


def optional_inner(hint: Any) -> Any:
    """``Literal[...]`` for ``Literal[...] | None``; any other hint as it is."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1:
        return args[0]
    return hint


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
