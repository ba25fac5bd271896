"""One W&B run per training run and per multirun job, when ``logger=wandb`` (or ``wandb_offline``).

The run is opened before the model is built and closed in a ``finally`` (exit code 1 on failure), so
Lightning's ``WandbLogger`` attaches to it and a crashed job never leaves it open. W&B being unreachable
or having no API key never stops training: the run falls back to offline mode with a warning.
"""

from __future__ import annotations

import functools
import logging
import netrc
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.utilities import rank_zero_only
from omegaconf import DictConfig, OmegaConf

from src.adapters import save_adapter
from src.atomic import write_text_atomic
from src.record import RunRecord

log = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"  # the adapter-only checkpoint inside the run directory, logged as an artifact
RUN_ID_FILE = "wandb_run_id"  # a resumed run (same run directory) continues the same W&B run
NOT_IN_SUMMARY = ("config",)  # logged as the run config instead


def wandb_logger_config(cfg: DictConfig) -> dict[str, Any] | None:
    """The ``logger`` group when it is W&B's, else None."""
    logger = cfg.get("logger")
    if not logger or not str(logger.get("_target_", "")).endswith("WandbLogger"):
        return None
    return OmegaConf.to_container(logger, resolve=True)


def has_credentials() -> bool:
    """An API key in the environment or in ~/.netrc for the configured W&B host (read offline)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", "https://api.wandb.ai")).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (OSError, netrc.NetrcParseError):
        return False


def choose_mode(logger: Mapping[str, Any]) -> str:
    env_mode = os.environ.get("WANDB_MODE", "").lower()
    if env_mode == "disabled":
        return "disabled"
    if logger.get("offline") or env_mode in ("offline", "dryrun"):
        return "offline"
    if not has_credentials():
        log.warning(
            "W&B: no API key (WANDB_API_KEY or `wandb login`): logging offline; `wandb sync` uploads it later."
        )
        return "offline"
    return "online"


def multirun_group() -> str | None:
    """In a Hydra multirun: the sweep directory's name, shared by all its jobs."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return Path(HydraConfig.get().sweep.dir).name


NOT_AN_OVERRIDE_COLUMN = ("hydra.", "paths.", "data.glue_dir", "logger", "ckpt_path")


def job_overrides() -> dict[str, str]:
    """This run's command-line overrides as ``{key: value}`` strings (in a multirun: the swept values too),
    so W&B can group, filter and draw parallel coordinates on them (a list such as factor shapes is one
    categorical value instead of nested numbers)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    pairs = (o.split("=", 1) for o in HydraConfig.get().overrides.task if "=" in o)
    return {
        key.lstrip("+~"): value
        for key, value in pairs
        if not key.lstrip("+~").startswith(NOT_AN_OVERRIDE_COLUMN)
    }


def run_id(output_dir: Path) -> str:
    """The W&B run id this run directory already has, else a new one, remembered in the directory."""
    from wandb.sdk.lib.runid import generate_id

    path = output_dir / RUN_ID_FILE
    if path.exists():
        return path.read_text().strip()
    new_id = generate_id()
    write_text_atomic(path, new_id)
    return new_id


def start(cfg: DictConfig, output_dir: Path):
    """Open the W&B run for this training run; None when W&B is not the logger or cannot start at all."""
    logger = wandb_logger_config(cfg)
    if logger is None or rank_zero_only.rank != 0:  # under DDP only rank zero logs
        return None
    try:
        import wandb
    except ImportError as error:
        raise ImportError(
            'logger=wandb needs the wandb package: pip install "kronlab[wandb]" (or pick logger=csv).'
        ) from error

    output_dir.mkdir(parents=True, exist_ok=True)
    init = dict(
        project=logger.get("project"),
        entity=logger.get("entity"),
        group=logger.get("group") or multirun_group(),
        tags=list(logger.get("tags") or []),
        job_type=logger.get("job_type"),
        name=logger.get("name") or output_dir.name,
        dir=str(output_dir),
        config={**OmegaConf.to_container(cfg, resolve=True), "overrides": job_overrides()},
        id=run_id(output_dir),
        resume="allow",
    )
    mode = choose_mode(logger)
    for attempt in (mode, "offline") if mode == "online" else (mode,):
        try:
            return wandb.init(mode=attempt, **init)
        except Exception as error:  # W&B must never stop a training run
            log.warning("W&B: could not start a %s run (%s).", attempt, error)
    log.warning("W&B: running without W&B.")
    os.environ["WANDB_MODE"] = "disabled"  # so Lightning's WandbLogger does not try again
    return None


def leaves(tree: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``{"a": {"b": 1}}`` -> ``[("a.b", 1)]``."""
    out = []
    for key, value in tree.items():
        name = f"{prefix}{key}"
        out += leaves(value, f"{name}.") if isinstance(value, Mapping) else [(name, value)]
    return out


def tables(results: Mapping[str, Any]) -> dict[str, Any]:
    """Flat dict sections (parameter counts) and lists of records (per-layer rows) as W&B tables."""
    import wandb

    out = {}
    for name, section in results.items():
        if name in NOT_IN_SUMMARY:
            continue
        if isinstance(section, Mapping) and section:
            out[f"{name}_table"] = wandb.Table(
                columns=["name", "value"], data=[[k, str(v)] for k, v in leaves(section)]
            )
        elif isinstance(section, list) and section and all(isinstance(row, Mapping) for row in section):
            columns = list(dict.fromkeys(k for row in section for k in row))
            out[f"{name}_table"] = wandb.Table(
                columns=columns, data=[[str(row.get(c, "")) for c in columns] for row in section]
            )
    return out


def log_results(run, record: RunRecord) -> None:
    """The run record, as results.json holds it, becomes the run summary, its sections also as tables (in
    the summary too: logged with ``run.log`` each would be a one-point history key)."""
    results = record.to_json()
    run.summary.update({k: v for k, v in results.items() if k not in NOT_IN_SUMMARY})
    run.summary.update(tables(results))


def log_adapter(model, output_dir: Path, method=None) -> Path | None:
    """Save the adapter-only checkpoint into ``<output_dir>/adapter`` and log it as an artifact."""
    wandb = sys.modules.get("wandb")  # only a run that W&B logs has anything to upload
    run = wandb.run if wandb is not None else None
    if run is None:
        return None
    folder = output_dir / ADAPTER_DIR
    try:
        save_adapter(model, folder, method=method)
        artifact = wandb.Artifact(f"adapter-{run.id}", type="adapter")
        artifact.add_dir(str(folder))
        run.log_artifact(artifact)
    except Exception as error:  # never lose a finished run over its artifact
        log.warning("W&B: could not log the adapter checkpoint (%s).", error)
        return None
    return folder


def tracked(run_fn: Callable[..., RunRecord]) -> Callable[..., RunRecord]:
    """Wrap ``src.run.fit.run``: open the W&B run first, log the results as its summary, always finish it."""

    @functools.wraps(run_fn)
    def wrapper(cfg: DictConfig, *args: Any) -> RunRecord:
        run = start(cfg, Path(cfg.paths.output_dir))
        if run is None:
            return run_fn(cfg, *args)
        import wandb

        exit_code = 1
        try:
            record = run_fn(cfg, *args)
            exit_code = 0
            try:
                log_results(run, record)
            except Exception as error:  # the results are on disk already; W&B must not fail the run
                log.warning("W&B: could not log the results (%s).", error)
            return record
        finally:
            wandb.finish(exit_code=exit_code)

    return wrapper
