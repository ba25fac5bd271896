"""Print a Hydra sweep override over KronA factor shapes for a layer size.

    python -m sweeps.factor_shapes 768                # every valid (A, B) for a 768 x 768 layer
    python -m sweeps.factor_shapes 768 --square       # only B = A reversed (the paper's Table 9 style)
    python -m sweeps.factor_shapes 48 --square --limit 4
    python -m sweeps.factor_shapes --paper            # exactly the paper's Table 9 shapes
    python -m sweeps.factor_shapes 384 --budget 3072 --within 0.25 --study-rows   # conf/study/cpu_shapes.yaml's rows

Use the output with the krona_shapes sweep (quote it, the shell must not glob the brackets):
    python -m src.train -m +sweep=krona_shapes "$(python -m sweeps.factor_shapes 48 --square)" ...
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from src.adapters.kron import valid_factor_shapes

Shape = tuple[int, int]
KEY = "kron_shapes"
PAPER_TABLE_9: list[Shape] = [(48, 16), (32, 24), (3, 256), (24, 32), (2, 384), (192, 4), (12, 64)]


def parameters(pair: tuple[Shape, Shape]) -> int:
    (a1, a2), (b1, b2) = pair
    return a1 * a2 + b1 * b2


def imbalance(pair: tuple[Shape, Shape]) -> int:
    """How far the factors are from square: ties in parameter count go to the most balanced first."""
    (a1, a2), (b1, b2) = pair
    return abs(a1 - a2) + abs(b1 - b2)


def factor_shapes(
    d_out: int, d_in: int, square: bool = False, min_side: int = 1, limit: int | None = None
) -> list[tuple[Shape, Shape]]:
    """Valid (A, B) for a d_out x d_in layer, fewest parameters (then most balanced) first; ``square``: B = A reversed."""
    if d_out < 1 or d_in < 1:
        raise ValueError(f"layer sizes must be positive, got {d_out} x {d_in}.")
    pairs = [
        (a, b)
        for a, b in valid_factor_shapes(d_out, d_in)
        if min(*a, *b) >= min_side and (not square or b == a[::-1])
    ]
    if not pairs:
        raise ValueError(
            f"no factor shapes for a {d_out} x {d_in} layer with square={square}, min_side={min_side}: "
            "--square needs d_out = d_in, and lower --min-side."
        )
    pairs.sort(key=lambda pair: (parameters(pair), imbalance(pair), -pair[0][0]))
    return pairs[:limit] if limit else pairs


def within_budget(
    pairs: Sequence[tuple[Shape, Shape]], budget: int, within: float
) -> list[tuple[Shape, Shape]]:
    """The pairs whose parameter count lies within ``within`` (a fraction) of ``budget``."""
    return [pair for pair in pairs if abs(parameters(pair) - budget) <= within * budget]


def row_name(pair: tuple[Shape, Shape]) -> str:
    (a1, a2), (b1, b2) = pair
    return f"a{a1}x{a2}_b{b1}x{b2}"


def study_rows(
    pairs: Sequence[tuple[Shape, Shape]], lr_from: str | None = None, searched: Sequence[str] = ()
) -> str:
    """One study row per pair (``conf/study/<name>.yaml``'s ``rows:``), each KronA with explicit shapes; rows not
    ``searched`` (nor ``lr_from`` itself) train at the ``lr_from`` row's searched rate."""
    lines = []
    for pair in pairs:
        (a1, a2), (b1, b2) = pair
        name = row_name(pair)
        shared = f", lr_from: {lr_from}" if lr_from and name != lr_from and name not in searched else ""
        lines.append(
            f'  {name}: {{adapter: krona, label: "A {a1}x{a2}, B {b1}x{b2}"{shared}, '
            f'overrides: ["adapter.a_shape=[{a1},{a2}]", "adapter.b_shape=[{b1},{b2}]"]}}'
        )
    return "\n".join(lines)


def paper_shapes() -> list[tuple[Shape, Shape]]:
    return [(a, a[::-1]) for a in PAPER_TABLE_9]


def sweep_override(pairs: Sequence[tuple[Shape, Shape]]) -> str:
    """``kron_shapes=[[a1,a2],[b1,b2]],...``: one multirun job per pair."""
    return f"{KEY}=" + ",".join(f"[[{a[0]},{a[1]}],[{b[0]},{b[1]}]]" for a, b in pairs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "d_out", type=int, nargs="?", help="output size of the adapted layer (the hidden size)"
    )
    parser.add_argument("--d-in", type=int, default=None, help="input size (default: d_out)")
    parser.add_argument("--square", action="store_true", help="only shapes with B = A reversed (a1*a2 = d)")
    parser.add_argument(
        "--min-side", type=int, default=1, help="drop shapes with a side below this (2: no vectors)"
    )
    parser.add_argument("--limit", type=int, default=None, help="keep the N with the fewest parameters")
    parser.add_argument("--paper", action="store_true", help="the KronA paper's Table 9 shapes (d = 768)")
    parser.add_argument(
        "--budget", type=int, default=None, help="keep pairs near this many parameters a layer"
    )
    parser.add_argument("--within", type=float, default=0.25, help="--budget's tolerance, a fraction (0.25)")
    parser.add_argument(
        "--study-rows", action="store_true", help="print study rows (YAML) instead of an override"
    )
    parser.add_argument(
        "--lr-from", default=None, help="--study-rows: the row whose searched rate the others take"
    )
    parser.add_argument(
        "--searched", default="", help="--study-rows: rows searched too (comma-separated names)"
    )
    args = parser.parse_args(argv)
    if args.paper:
        pairs = paper_shapes()
    elif args.d_out is None:
        parser.error("give the layer size (e.g. 768) or --paper.")
    else:
        try:
            pairs = factor_shapes(args.d_out, args.d_in or args.d_out, args.square, args.min_side, args.limit)
        except ValueError as error:
            parser.error(str(error))
    if args.budget is not None:
        pairs = within_budget(pairs, args.budget, args.within)
        if not pairs:
            parser.error(
                f"no factor shapes within {args.within:.0%} of {args.budget:,} parameters: widen --within."
            )
    searched = args.searched.split(",") if args.searched else []
    print(study_rows(pairs, args.lr_from, searched) if args.study_rows else sweep_override(pairs))


if __name__ == "__main__":
    main()
