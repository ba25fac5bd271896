"""What a process that never trains imports: the entry points load without peft and bitsandbytes (seconds of
start-up paid by every study, refused command line and evaluation otherwise)."""

from __future__ import annotations

import subprocess
import sys

from src.config import ROOT


def test_the_entry_points_import_without_peft_or_bitsandbytes():
    probe = "import sys, src.train, src.study.__main__; print(sorted({'peft', 'bitsandbytes'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
