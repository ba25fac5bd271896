"""Kronecker factor shapes, the one place they are resolved and checked: every (A, B) pair a d_out x d_in
layer takes (a1*b1 = d_out, a2*b2 = d_in), the pair a parameter budget picks (``auto``), PEFT LoKr's pair
(``lokr``), one pair per term, and the one check of the shape settings with the fix in the message."""

from __future__ import annotations

from collections.abc import Callable

from ..core.protocol import AdapterError

AUTO = "auto"
LOKR_SHAPES = "lokr"


def factorisations(n: int) -> list[tuple[int, int]]:
    return [(d, n // d) for d in range(1, n + 1) if n % d == 0]


def valid_factor_shapes(d_out: int, d_in: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Every (A shape, B shape) with a1*b1 = d_out and a2*b2 = d_in."""
    return [
        ((a1, a2), (d_out // a1, d_in // a2))
        for a1, _ in factorisations(d_out)
        for a2, _ in factorisations(d_in)
    ]


def describe_valid_shapes(d_out: int, d_in: int, limit: int = 40) -> str:
    """A readable list of valid shapes, the most balanced (fewest parameters) first."""
    shapes = sorted(
        valid_factor_shapes(d_out, d_in), key=lambda ab: ab[0][0] * ab[0][1] + ab[1][0] * ab[1][1]
    )
    shown = ", ".join(f"a_shape={list(a)} b_shape={list(b)}" for a, b in shapes[:limit])
    more = f" ... ({len(shapes) - limit} more)" if len(shapes) > limit else ""
    return shown + more


Shapes = tuple[tuple[int, int], tuple[int, int]]
CountFn = Callable[[tuple[int, int], tuple[int, int]], int]


def balanced_factor_shapes(
    d_out: int, d_in: int, count: CountFn | None = None, inner_rank: int | None = None
) -> Shapes:
    """The valid shapes with the fewest parameters by ``count`` (default a1*a2 + b1*b2; ties: the highest
    possible rank, then the taller A), e.g. (32,24)/(24,32) for 768 x 768, not the rank-1 (768,1)/(1,768)
    that has the same count."""
    count = count or factor_parameter_count
    return min(
        valid_factor_shapes(d_out, d_in),
        key=lambda ab: (count(*ab), -max_kron_rank(*ab, inner_rank), -ab[0][0]),
    )


def factor_parameter_count(a_shape, b_shape) -> int:
    return a_shape[0] * a_shape[1] + b_shape[0] * b_shape[1]


def stored_factor_count(shape: tuple[int, int], inner_rank: int | None) -> int:
    """Parameters of one factor of this shape, kept whole (inner_rank None) or as a (rows x r)(r x cols) product."""
    return shape[0] * shape[1] if inner_rank is None else inner_rank * (shape[0] + shape[1])


def max_kron_rank(a_shape, b_shape, inner_rank: int | None = None) -> int:
    """The highest rank kron(A, B) can reach: rank(A) * rank(B) <= min(a1, a2) * min(b1, b2), each side
    capped at ``inner_rank`` when the factors are stored as rank-r products."""
    cap = inner_rank or max(*a_shape, *b_shape)
    return min(*a_shape, cap) * min(*b_shape, cap)


def shapes_closest_to_budget(
    d_out: int, d_in: int, budget: int, count: CountFn | None = None, inner_rank: int | None = None
) -> Shapes:
    """The valid shapes whose parameter count (``count``, default a1*a2 + b1*b2) is closest to ``budget``
    (ties: the highest possible rank, then the taller A)."""
    count = count or factor_parameter_count
    return min(
        valid_factor_shapes(d_out, d_in),
        key=lambda ab: (abs(count(*ab) - budget), -max_kron_rank(*ab, inner_rank), -ab[0][0]),
    )


def check_factor_shapes(a_shape, b_shape, d_out: int, d_in: int, where: str) -> None:
    a1, a2 = a_shape
    b1, b2 = b_shape
    if a1 * b1 != d_out or a2 * b2 != d_in:
        raise AdapterError(
            f"KronA factors a_shape={list(a_shape)} b_shape={list(b_shape)} give a "
            f"{a1 * b1}x{a2 * b2} update but {where} is {d_out}x{d_in} (out x in): "
            f"need a1*b1 = {d_out} and a2*b2 = {d_in}. Valid shapes for this layer: "
            f"{describe_valid_shapes(d_out, d_in)}"
        )


def lokr_factor_shapes(d_out: int, d_in: int, factor: int = -1) -> Shapes:
    """PEFT LoKr's shapes for a linear layer: A = (out_l, in_m), B = (out_k, in_n) from peft's own factorization."""
    try:
        from peft.tuners.lokr.layer import factorization
    except ImportError as error:
        raise AdapterError(
            "a_shape=lokr uses peft's factorization: pip install peft, or give the shapes."
        ) from error
    (out_l, out_k), (in_m, in_n) = factorization(d_out, factor), factorization(d_in, factor)
    return (out_l, in_m), (out_k, in_n)


def per_term_shapes(a_shape, b_shape, terms: int) -> list[Shapes]:
    """One (A shape, B shape) per term from one shared pair or from lists of pairs."""
    if is_shape_list(a_shape):
        return [(tuple(a), tuple(b)) for a, b in zip(a_shape, b_shape, strict=True)]
    return [(tuple(a_shape), tuple(b_shape))] * terms


def is_shape_list(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], (list, tuple))


def resolve_factor_shapes(
    a_shape,
    b_shape,
    d_out: int,
    d_in: int,
    where: str,
    budget: int | None = None,
    *,
    terms: int = 1,
    count: CountFn | None = None,
    inner_rank: int | None = None,
    decompose_factor: int = -1,
):
    """(A shape, B shape) for a d_out x d_in layer: the configured shapes checked against it (one pair, or one
    pair per term), PEFT LoKr's factorisation (``lokr``), or ``auto`` (or None): the valid shapes whose count
    (``count``, default a1*a2 + b1*b2) is closest to ``budget``, the fewest when there is no budget."""
    if a_shape == LOKR_SHAPES:
        return lokr_factor_shapes(d_out, d_in, decompose_factor)
    if a_shape in (None, AUTO):
        if budget is None:
            return balanced_factor_shapes(d_out, d_in, count, inner_rank)
        return shapes_closest_to_budget(d_out, d_in, budget, count, inner_rank)
    for a, b in per_term_shapes(a_shape, b_shape, terms):
        check_factor_shapes(a, b, d_out, d_in, where)
    if is_shape_list(a_shape):
        return [tuple(a) for a in a_shape], [tuple(b) for b in b_shape]
    return tuple(a_shape), tuple(b_shape)


def _is_pair(pair) -> bool:
    try:
        return len(pair) == 2 and all(int(v) >= 1 for v in pair)
    except (TypeError, ValueError):
        return False


def check_factor_settings(
    a_shape, b_shape, budget: int | None, *, terms: int | None = None, lokr: bool = False
) -> None:
    """The shape settings of a Kronecker method, refused at construction with the fix: both shapes given, or both
    named (``auto``; ``lokr`` where the method takes PEFT's); one pair, or (``terms`` given) one pair per term;
    a positive ``budget``, with ``auto`` only."""
    names = (AUTO, LOKR_SHAPES) if lokr else (AUTO,)
    a_shape, b_shape = (AUTO if v is None else v for v in (a_shape, b_shape))
    if (a_shape in names or b_shape in names) and a_shape != b_shape:
        raise AdapterError(
            "set both adapter.a_shape and adapter.b_shape (like [32,24] and [24,32]"
            + (", or one pair per term" if terms else "")
            + "), or both to auto (the valid shapes closest to adapter.budget, the most balanced ones when budget "
            "is null)" + (" or both to lokr (PEFT LoKr's factorisation)" if lokr else "") + "."
        )
    for key, value in (("a_shape", a_shape), ("b_shape", b_shape)):
        if value in names:
            continue
        if isinstance(value, str):
            raise AdapterError(
                f"adapter.{key}={value!r}: use {', '.join(names)}, or two positive integers like [32, 24]."
            )
        per_term = terms is not None and is_shape_list(value)
        pairs = value if per_term else [value]
        if per_term and len(pairs) != terms:
            raise AdapterError(
                f"adapter.{key} lists {len(pairs)} shapes for adapter.terms={terms}: give one per term, or one for all."
            )
        if not all(_is_pair(pair) for pair in pairs):
            raise AdapterError(
                f"adapter.{key} must be two positive integers like [32, 24]"
                + (" (or one such pair per term)" if terms else "")
                + f", got {value!r}."
            )
    if terms is not None and is_shape_list(a_shape) != is_shape_list(b_shape):
        raise AdapterError(
            "adapter.a_shape and adapter.b_shape: give both as one pair, or both as one pair per term."
        )
    if budget is not None and budget < 1:
        raise AdapterError(
            f"adapter.budget={budget}: give a positive number of parameters per layer, or null."
        )
    if budget is not None and a_shape != AUTO:
        raise AdapterError(
            "adapter.budget only applies with a_shape=auto and b_shape=auto; drop one of them."
        )
