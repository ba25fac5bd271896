"""``make bench``: the kernel, training-step and latency tables, then the small quality run (21 minutes on
a quiet 2-core CPU); ``python -m bench.run_all --full-quality`` runs the whole quality grid."""

from __future__ import annotations

import argparse

from . import kernels, latency, quality, train_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-quality", action="store_true", help="the two-hour quality grid")
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args(argv)
    kernels.main([])
    train_step.main([])
    latency.main([])
    if not args.skip_quality:
        quality.main(["--full"] if args.full_quality else [])


if __name__ == "__main__":
    main()
