"""The Kronecker product, in the one place kronlab computes it: ``x @ (s * kron(A, B)).T`` without building
the dense matrix, the dense product itself (for merging), a sum of products and the product of two vectors.

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


def kron_sum(factors) -> torch.Tensor:
    """``sum_i kron(A_i, B_i)`` for factors = [A_0, B_0, A_1, B_1, ...]."""
    total = torch.kron(factors[0], factors[1])
    for A, B in zip(factors[2::2], factors[3::2], strict=True):
        total = total + torch.kron(A, B)
    return total


def kron_vectors(left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """Per token kron(left, right): element i*len(right) + j is left_i * right_j."""
    return (left.unsqueeze(-1) * right.unsqueeze(-2)).flatten(-2)
