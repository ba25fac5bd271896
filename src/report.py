"""``python -m src.report <dirs...>``: every results.json under the given run/multirun directories in one table.

One row per method x backbone x task x setting (whatever else differs between the runs, e.g. factor shapes or
the learning rate), each metric as mean ± std over seeds, with trainable parameters (with and without the
classifier head), the latency ratio (with its per-repeat range and protocol) and the median train step time
(with its quartiles and how many steps were timed). ``--paper`` adds the papers' numbers (SPEC §6) and the
difference. Writes report.csv and report.md; ``--figures`` also writes the analysis figures (src.reporting.figures).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from src.reporting.markdown import to_markdown, write
from src.reporting.runs import collect
from src.reporting.table import summarise

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "dirs", nargs="+", help="run or multirun directories (searched recursively for results.json)"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="where report.csv and report.md go (default: first dir)"
    )
    parser.add_argument(
        "--paper", action="store_true", help="add the papers' numbers (SPEC §6) and the difference"
    )
    parser.add_argument(
        "--figures",
        action="store_true",
        help="also write the analysis figures (PNG, the notebook's) into <out>/figures, with the papers' numbers",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        runs = collect(args.dirs)
    except (FileNotFoundError, ValueError) as error:
        parser.exit(2, f"error: {error}\n")
    table = summarise(runs, with_paper=args.paper)
    out = args.out or Path(args.dirs[0])
    csv_path, md_path = write(table, out)
    sys.stdout.write(to_markdown(table) + "\n")
    log.info("wrote %s and %s", csv_path, md_path)
    if args.figures:
        from src.reporting.figures import write_figures  # matplotlib only when figures are asked for

        for path in write_figures(summarise(runs, with_paper=True), out / "figures"):
            log.info("wrote %s", path)


if __name__ == "__main__":
    main()
