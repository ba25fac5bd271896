"""Each registered adapter method's settings dataclass as a config schema: a new method is typed by its
config dataclass alone (src/adapters stays free of Hydra; this module does the registering)."""

from __future__ import annotations

from src.adapters import METHODS

from .types import dataclass_schema


def method_schemas() -> dict[str, type]:
    """``{method name: schema}``; the schema's ``name`` defaults to the method's config name."""
    return {name: dataclass_schema(method.config, {"name": name}) for name, method in METHODS.items()}
