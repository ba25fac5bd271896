"""``make bench``: the kernel table over every valid factorisation, the training-step and latency tables,
then the quality plan at this CPU's budget, at the learning rates in bench/quality_lr.yaml (see
docs/BENCHMARKS.md for how long each took), and docs/BENCHMARKS.md's quality tables from it;
``--search`` first runs the learning-rate searches that file lacks (``python -m bench.search``, hours),
``--full-quality`` runs the paper-length plan instead (a CUDA job), ``--skip-quality`` none."""

from __future__ import annotations

import argparse

from . import kernels, latency, quality, quality_docs, search, train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full-quality", action="store_true", help="the paper-length quality grid (GPU-sized)"
    )
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument(
        "--search", action="store_true", help="search the quality plan's learning rates first"
    )
    args = parser.parse_args(argv)
    kernels.main(["--grid", "all"])
    train_step.main([])
    latency.main([])
    if not args.skip_quality:
        plan = ["--plan", "full"] if args.full_quality else []
        if args.search:
            search.main(plan)
        quality.main(plan)
        if not args.full_quality:
            quality_docs.main([])


if __name__ == "__main__":
    main()
