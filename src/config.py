"""OmegaConf resolvers the YAML files use and the config schema; importing this module registers both."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "conf"
os.environ.setdefault("KRONLAB_ROOT", str(ROOT))


def first_existing(*candidates: str) -> str | None:
    """The first path that exists, else the last candidate if it is not a path (a hub id), else None."""
    for candidate in candidates:
        if candidate and Path(str(candidate)).expanduser().exists():
            return str(candidate)
    last = str(candidates[-1]) if candidates else ""
    return last if last and not last.startswith(("/", ".", "~")) else None


def _register(name: str, fn, **kwargs) -> None:
    if not OmegaConf.has_resolver(name):
        OmegaConf.register_new_resolver(name, fn, **kwargs)


_register("first_existing", first_existing)
_register("unique", lambda: uuid.uuid4().hex[:6], use_cache=True)

# src.run filters the one line bitsandbytes logs when it is imported (by peft, which the schema's imports load).
import src.run  # noqa: E402,F401

# The typed config schema (src/schema) registers itself with Hydra's ConfigStore on import; conf/train.yaml
# names it, so whatever composes the config imports this module first.
import src.schema  # noqa: E402,F401
