"""Backbone families. Every module here that defines a ``Backbone`` subclass is a family, so a new
family is one file here plus one YAML in conf/backbone/."""

import importlib
import pkgutil

from .base import Backbone, BackboneError, BackboneSettings

for _info in pkgutil.iter_modules(__path__):  # a family is found by its class, not by its file's name
    importlib.import_module(f"{__name__}.{_info.name}")


def families() -> dict[str, type[Backbone]]:
    found: dict[str, type[Backbone]] = {}
    pending = list(Backbone.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.family] = cls
        pending.extend(cls.__subclasses__())
    return found


def build_backbone(settings: BackboneSettings, task) -> Backbone:
    known = families()
    if settings.family not in known:
        raise BackboneError(
            f"unknown backbone family {settings.family!r} for backbone {settings.name!r}. "
            f"Families: {', '.join(sorted(known))}."
        )
    return known[settings.family].build(settings, task)


__all__ = ["Backbone", "BackboneError", "BackboneSettings", "build_backbone", "families"]
