"""The Kronecker product ``x @ (s * kron(A, B)).T`` without building the dense matrix.

Convention (SPEC §1): A is (a1, a2), B is (b1, b2), kron(A, B) is (a1*b1, a2*b2) = (d_out, d_in).
Per token, X = x.reshape(a2, b2) and y = (A @ X @ B.T).reshape(a1*b1).
"""

from __future__ import annotations

import torch


def kron_shape(a_shape: tuple[int, int], b_shape: tuple[int, int]) -> tuple[int, int]:
    return a_shape[0] * b_shape[0], a_shape[1] * b_shape[1]


def factorised_cost(a_shape, b_shape) -> tuple[int, int]:
    """Multiply-adds per token for (B first, A first)."""
    (a1, a2), (b1, b2) = a_shape, b_shape
    return a2 * b2 * b1 + a1 * a2 * b1, a1 * a2 * b2 + a1 * b2 * b1


def kron_matmul(x: torch.Tensor, A: torch.Tensor, B: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Compute ``x @ (scale * kron(A, B)).T`` for x of shape (..., a2*b2), in the cheaper contraction order.

    Each factor is applied as ONE large 2-D GEMM over all tokens (the factor's contracted axis moved
    last by a transpose copy), never as a batch of tiny per-token matmuls: on CPU the batched form
    is 1.5-3x slower for lopsided shapes such as (384,2)/(2,384) (bench/kernels.py measures it).
    """
    (a1, a2), (b1, b2) = A.shape, B.shape
    lead = x.shape[:-1]
    X = x.reshape(-1, a2, b2)
    n = X.shape[0]
    b_first, a_first = factorised_cost((a1, a2), (b1, b2))
    if b_first <= a_first:
        T = (X.reshape(n * a2, b2) @ B.T).reshape(n, a2, b1)  # B contracts b2
        T = T.transpose(1, 2).reshape(n * b1, a2) @ A.T  # A contracts a2: (n*b1, a1)
        y = T.reshape(n, b1, a1).transpose(1, 2)
    else:
        T = X.transpose(1, 2).reshape(n * b2, a2) @ A.T  # A contracts a2: (n*b2, a1)
        T = T.reshape(n, b2, a1).transpose(1, 2).reshape(n * a1, b2)
        y = T @ B.T  # B contracts b2: (n*a1, b1)
    y = y.reshape(*lead, a1 * b1)
    return y * scale if scale != 1.0 else y


def kron_dense(A: torch.Tensor, B: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """The materialised update ``scale * kron(A, B)``: for merging, never for the training forward."""
    return scale * torch.kron(A, B)


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
    shapes = sorted(valid_factor_shapes(d_out, d_in), key=lambda ab: ab[0][0] * ab[0][1] + ab[1][0] * ab[1][1])
    shown = ", ".join(f"a_shape={list(a)} b_shape={list(b)}" for a, b in shapes[:limit])
    more = f" ... ({len(shapes) - limit} more)" if len(shapes) > limit else ""
    return shown + more


def balanced_factor_shapes(d_out: int, d_in: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The valid shapes with the fewest parameters (ties: the highest possible rank, then the taller A),
    e.g. (32,24)/(24,32) for 768 x 768, not the rank-1 (768,1)/(1,768) that has the same count."""
    return min(
        valid_factor_shapes(d_out, d_in),
        key=lambda ab: (factor_parameter_count(*ab), -max_kron_rank(*ab), -ab[0][0]),
    )


def factor_parameter_count(a_shape, b_shape) -> int:
    return a_shape[0] * a_shape[1] + b_shape[0] * b_shape[1]


def max_kron_rank(a_shape, b_shape) -> int:
    """The highest rank kron(A, B) can reach: rank(A) * rank(B) <= min(a1, a2) * min(b1, b2)."""
    return min(a_shape) * min(b_shape)


def shapes_closest_to_budget(d_out: int, d_in: int, budget: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """The valid shapes whose a1*a2 + b1*b2 is closest to ``budget`` (ties: the taller A)."""
    return min(
        valid_factor_shapes(d_out, d_in),
        key=lambda ab: (abs(factor_parameter_count(*ab) - budget), -max_kron_rank(*ab), -ab[0][0]),
    )
