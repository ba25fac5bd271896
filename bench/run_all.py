"""``make bench``: the kernel table over every valid factorisation, the training-step and latency tables,
then the quality grid at this CPU's budget (see docs/BENCHMARKS.md for how long each took);
``--full-quality`` runs the paper-length quality grid instead (GPU-sized), ``--skip-quality`` none."""

from __future__ import annotations

import argparse

from . import kernels, latency, quality, train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full-quality", action="store_true", help="the paper-length quality grid (GPU-sized)"
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    kernels.main(["--grid", "all"])
    train_step.main([])
    latency.main([])
    if not args.skip_quality:
        quality.main(["--plan", "full"] if args.full_quality else [])


if __name__ == "__main__":
    main()
