"""The Kronecker product ``x @ (s * kron(A, B)).T`` without building the dense matrix.

Convention (SPEC §1): A is (a1, a2), B is (b1, b2), kron(A, B) is (a1*b1, a2*b2) = (d_out, d_in).
Per token, X = x.reshape(a2, b2) and y = (A @ X @ B.T).reshape(a1*b1).
"""

from __future__ import annotations

from collections.abc import Callable

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


def rearranged(weight: torch.Tensor, a_shape, b_shape) -> torch.Tensor:
    """Van Loan and Pitsianis' rearrangement R(W), (a1*a2, b1*b2): row i*a2 + j is the (i, j) block of W
    (b1 x b2) flattened, so R(kron(A, B)) = vec(A) vec(B)^T and ||W - kron(A, B)||_F = ||R(W) - vec(A) vec(B)^T||_F."""
    (a1, a2), (b1, b2) = a_shape, b_shape
    return weight.reshape(a1, b1, a2, b2).permute(0, 2, 1, 3).reshape(a1 * a2, b1 * b2)


def nearest_kronecker_terms(
    weight: torch.Tensor, shapes: list[Shapes]
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Factors (A_i, B_i) with ``sum_i kron(A_i, B_i)`` the best Frobenius approximation of ``weight`` by
    ``len(shapes)`` Kronecker terms: the top singular triplets (sigma_i, u_i, v_i) of R(W), A_i = sqrt(sigma_i)
    mat(u_i), B_i = sqrt(sigma_i) mat(v_i) (Eckart-Young on R(W)). Terms of different shapes are taken
    greedily, each from what the previous ones left; for one shared shape that is the same top-k SVD.
    Computed in float64 and returned in the weight's dtype."""
    residual = weight.detach().to(torch.float64)
    factors: list[tuple[torch.Tensor, torch.Tensor]] = []
    same_shape = len(set(shapes)) == 1
    for i, (a_shape, b_shape) in enumerate(shapes):
        if i == 0 or not same_shape:
            U, S, Vh = torch.linalg.svd(rearranged(residual, a_shape, b_shape), full_matrices=False)
            top = 0
        root = S[top].sqrt()
        A, B = (root * U[:, top]).reshape(a_shape), (root * Vh[top]).reshape(b_shape)
        factors.append((A.to(weight.dtype), B.to(weight.dtype)))
        if not same_shape:
            residual = residual - torch.kron(A, B)
        top += 1
    return factors
