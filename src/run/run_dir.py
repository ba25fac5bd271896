"""What a finished (or interrupted) run directory holds: its config and its best and last checkpoints."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from src.errors import ConfigError
from src.record import RESULTS_FILE, read_record

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
HYDRA_CONFIG = Path(".hydra") / "config.yaml"


def is_run_dir(folder: Path) -> bool:
    return (folder / HYDRA_CONFIG).is_file() or (folder / RESULTS_FILE).is_file()


def run_config(run_dir: Path) -> DictConfig:
    """The config the run used: Hydra's composed config (interpolations kept, so ``task=`` can be swapped
    and ``data.max_length`` follows), else the resolved one in results.json."""
    if (run_dir / HYDRA_CONFIG).is_file():
        cfg = OmegaConf.load(run_dir / HYDRA_CONFIG)
    elif (run_dir / RESULTS_FILE).is_file():
        cfg = OmegaConf.create(read_record(run_dir).config)
    else:
        raise ConfigError(
            f"{run_dir} is not a run directory (no {HYDRA_CONFIG} or {RESULTS_FILE}): pass the folder a training run wrote."
        )
    if "backbone" not in cfg or "adapter" not in cfg:
        raise ConfigError(
            f"the config saved in {run_dir} has no backbone/adapter: pass the folder a training run wrote."
        )
    with open_dict(cfg):
        cfg.paths.output_dir = str(run_dir)  # was ${hydra:runtime.output_dir}, that run's directory
    return cfg


def enclosing_run_dir(path: Path, levels: int = 3) -> Path | None:
    """The run directory ``path`` lies in (a checkpoint in ``<run>/checkpoints``, an adapter in ``<run>/merged/adapter``)."""
    for folder in list(path.resolve().parents)[:levels]:
        if is_run_dir(folder):
            return folder
    return None


def checkpoint_in_run(run_dir: Path, which: str) -> Path:
    """``<run>/checkpoints/last.ckpt``, or the best checkpoint (the one the run validated and tested)."""
    folder = run_dir / CHECKPOINT_DIR
    if which not in ("best", "last"):
        raise ConfigError(f"checkpoint={which!r}: use best or last, or ckpt_path=<file.ckpt>.")
    found = sorted(p.name for p in folder.glob("*.ckpt")) if folder.is_dir() else []
    if not found:
        raise ConfigError(
            f"no checkpoint in {folder} (callbacks=none, or a run stopped before its first save): train with the default callbacks."
        )
    if which == "last":
        chosen = LAST_CHECKPOINT if LAST_CHECKPOINT in found else None
    else:
        chosen = next((name for name in _best_candidates(run_dir) if name in found), None)
        others = [name for name in found if name != LAST_CHECKPOINT]
        chosen = chosen or (others[0] if len(others) == 1 else None)
    if chosen is None:
        raise ConfigError(
            f"no {which} checkpoint among {found} in {folder}: pass checkpoint=best|last or ckpt_path=<file.ckpt>."
        )
    return folder / chosen


def _best_candidates(run_dir: Path) -> list[str]:
    """Names of the best checkpoint: from results.json, else from last.ckpt's monitored ModelCheckpoint."""
    names = []
    if (run_dir / RESULTS_FILE).is_file():
        best = read_record(run_dir).best_checkpoint
        if best:
            names.append(Path(best).name)  # by name: the run directory may have moved
    last = run_dir / CHECKPOINT_DIR / LAST_CHECKPOINT
    if last.is_file():
        states = torch.load(last, map_location="cpu", weights_only=True).get("callbacks", {})
        names += [
            Path(s["best_model_path"]).name
            for s in states.values()
            if s.get("monitor") and s.get("best_model_path")
        ]
    return names


def require_file(path: str | Path, what: str, hint: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"{what}={path}: no such file; {hint}.")
    return path.resolve()
