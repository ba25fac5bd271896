"""``python -m src.eval run_dir=<run>``: rebuild a saved run from its own config, load its weights, evaluate
(src.run.evaluate); writes ``eval.json``. Its own settings are conf/eval.yaml's keys, any other argument
overrides the run's config."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, OmegaConf

from src.config import CONF_DIR
from src.run.cli import report_user_errors
from src.run.evaluate import evaluate
from src.run.offline import go_offline_if_unreachable
from src.run.overrides import apply_overrides, parse_overrides


def split_arguments(args: Sequence[str]) -> tuple[DictConfig, list[str]]:
    """``src.eval``'s own settings (the keys of conf/eval.yaml) and the overrides of the run's config."""
    settings = OmegaConf.load(CONF_DIR / "eval.yaml")
    own, others = [], []
    for arg, parsed in zip(args, parse_overrides(args), strict=True):
        if parsed.key_or_group in settings:
            own.append(parsed)
        else:
            others.append(arg)
    apply_overrides(settings, own)
    return settings, others


def main(args: Sequence[str] | None = None) -> dict[str, Any]:
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s][%(name)s][%(levelname)s] - %(message)s")
    go_offline_if_unreachable()
    with report_user_errors():
        settings, overrides = split_arguments(sys.argv[1:] if args is None else args)
        return evaluate(settings, overrides)


if __name__ == "__main__":
    main()
