"""Hydra's and OmegaConf's config errors as one line: the key, the value, what it should be."""

from __future__ import annotations

import dataclasses
import re

from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException, ValidationError

EXPECTED = {"Integer": "an integer", "Float": "a number", "Boolean": "true or false", "String": "a string"}
NOISE = re.compile(r"^\s*(full_key|object_type|reference_type|child_node|parent_node)[:=]")


def config_error_message(error: BaseException) -> str:
    """One line for a Hydra or OmegaConf error: the key, the value, what it should be."""
    cause = error if isinstance(error, OmegaConfBaseException) else error.__cause__
    if isinstance(cause, OmegaConfBaseException) and getattr(cause, "full_key", None):
        specific = _omegaconf_message(cause)
        if specific:
            return specific
    text = str(error)
    missing_option = re.search(
        r"Could not find '([^']+)'\s+Available options in '([^']+)':\s+(.*?)\s*Config search path", text, re.S
    )
    if missing_option:
        group, options = missing_option.group(2), missing_option.group(3).split()
        return (
            f"there is no {missing_option.group(1)}.yaml: choose {group}=<one of {', '.join(options)}> "
            f"(files in conf/{group}/)."
        )
    key_error = re.search(r"Key '(\w+)' not in '(\w+)'\s+full_key: (\S+)", text)
    if key_error:
        return f"{key_error.group(3)} is not a setting of {key_error.group(2)} ({_where(text)}); remove it or fix its name."
    return _join(text)


def _omegaconf_message(cause: OmegaConfBaseException) -> str | None:
    key, value = cause.full_key, getattr(cause, "value", None)
    if (
        isinstance(cause, (ConfigKeyError, ConfigAttributeError))
        and cause.object_type is not None
        and dataclasses.is_dataclass(cause.object_type)
    ):
        valid = ", ".join(f.name for f in dataclasses.fields(cause.object_type) if not f.name.startswith("_"))
        return f"{key} is not a setting of {cause.object_type.__name__}. Valid settings: {valid}."
    if isinstance(cause, ValidationError):
        wanted = re.search(r"could not be converted to (\w+)|is not a valid (bool)", cause.msg or "")
        if wanted:
            kind = wanted.group(1) or "Boolean"
            expected = EXPECTED.get(kind, kind)
            return f"{key}={value!r} is not {expected}: give {key} {expected}{_default_hint(cause)}."
        return f"{key}={value!r}: {_join(cause.msg or str(cause))}"
    return None


def _default_hint(cause: OmegaConfBaseException) -> str:
    owner, name = cause.object_type, str(cause.key)
    if owner is None or not dataclasses.is_dataclass(owner):
        return ""
    for field in dataclasses.fields(owner):
        if field.name == name and field.default is not dataclasses.MISSING and field.default is not None:
            return f", e.g. {cause.full_key}={field.default} (the default)"
    return ""


def _where(text: str) -> str:
    found = re.match(r"In '([^']+)'", text)
    return f"set in conf/{found.group(1)}.yaml" if found else "given on the command line"


def _join(text: str) -> str:
    """Hydra's multi-line message on one line, without OmegaConf's node dump."""
    lines = [line.strip() for line in text.splitlines() if line.strip() and not NOISE.match(line)]
    joined = " ".join(line if line.endswith((".", ":", ",")) else f"{line};" for line in lines[:-1])
    return f"{joined} {lines[-1]}".strip() if lines else text.strip()
