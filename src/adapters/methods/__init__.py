"""The methods wing: one file a method. Every module here is imported, and each that calls ``register`` (or
``register_variant``) becomes a method, so a new adapter is one file here plus one YAML in conf/adapter/.
Discovery looks here and nowhere else."""

import importlib
import pkgutil

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")
