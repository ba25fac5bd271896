"""``make bench``: the kernel table over every valid factorisation, the training-step, latency and quantized-base tables,
then the cpu study (``python -m src.study study=cpu``: its committed runs are reused, only what is new
trains) and docs/BENCHMARKS.md's quality tables from its report; ``--skip-quality`` skips the study.
The paper-length studies are cluster jobs: ``python -m src.study study=paper_bert hydra/launcher=slurm trainer=gpu``."""

from __future__ import annotations

import argparse
import subprocess
import sys

from src.config import ROOT

from . import kernels, latency, quality_docs, quantized_step, train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    kernels.main(["--grid", "all"])
    train_step.main([])
    latency.main([])
    quantized_step.main([])
    if not args.skip_quality:
        subprocess.run([sys.executable, "-m", "src.study", "study=cpu"], cwd=ROOT, check=True)
        quality_docs.main([])


if __name__ == "__main__":
    main()
