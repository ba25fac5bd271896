"""results.json: what one run measured, written atomically so a crash never leaves half a file."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any

RESULTS_FILE = "results.json"
# results.json ``status``: a complete run; one stopped by an error while or after training; one refused
# before training (a setting, a data file), which is not a run and which src.report leaves out.
STATUS_FINISHED, STATUS_FAILED, STATUS_REFUSED = "finished", "failed", "refused"


def versions() -> dict[str, str | None]:
    import lightning
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "lightning": lightning.__version__,
        "git_commit": git_commit(),
    }


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def read_results(run_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(run_dir) / RESULTS_FILE).read_text())
