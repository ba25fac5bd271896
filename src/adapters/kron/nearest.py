"""Nearest Kronecker decomposition: the factors whose Kronecker sum best approximates a frozen weight in the
Frobenius norm (Van Loan and Pitsianis), and the rank-r split of one factor (for factors stored as products)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .shapes import Shapes


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


def low_rank_split(full: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(rows x r, r x cols) factors whose product is the rank-r truncated SVD of ``full``."""
    U, S, Vh = torch.linalg.svd(full.to(torch.float64), full_matrices=False)
    U, S, Vh = U[:, :rank], S[:rank].sqrt(), Vh[:rank]
    pad = rank - S.shape[0]  # rank above min(rows, cols): the extra directions stay zero
    first = F.pad(U * S, (0, pad))
    second = F.pad(S[:, None] * Vh, (0, 0, 0, pad))
    return first.to(full.dtype), second.to(full.dtype)
