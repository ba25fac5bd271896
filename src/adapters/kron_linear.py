"""A linear layer and its Kronecker update in one: ``y = x (W + s * kron(A, B))^T + bias``.

Forward and the input's gradient each cost one GEMM with the updated weight, exactly the frozen
layer's own work: the update adds only building ``kron(A, B)`` (d_out * d_in multiply-adds per call,
not per token). The factors' gradients are contracted per token, never through the dense
``G^T X`` (that would cost the frozen layer's whole GEMM again):

    grad A = s * sum_n G_n B X_n^T        grad B = s * sum_n G_n^T A X_n

with X_n = x_n.reshape(a2, b2) and G_n = grad_y_n.reshape(a1, b1), each in its cheaper order, over
chunks of tokens so the intermediates stay in cache (bench/kernels.py measures the whole layer, for
every factorisation of 768 and 1024 with ``--grid all``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .kron import factorised_cost

TOKENS_PER_CHUNK = 512
MIN_BATCHED_SIDE = 16


def fused_weight(weight: torch.Tensor, A: torch.Tensor, B: torch.Tensor, scale: float) -> torch.Tensor:
    return torch.add(weight, torch.kron(A, B), alpha=scale)


def contraction_plan(a_shape, b_shape) -> tuple[bool, bool]:
    """(contract x with B and g with A?, as batched per-token matmuls?) for these factor shapes.

    Contracting x with B and g with A costs a2*b1*(a1 + b2) multiply-adds per token; g with B and x
    with A, a1*b2*(a2 + b1): the same two costs as kron_matmul's B-first and A-first orders. Per-token matmuls broadcast a factor over the tokens, which is fastest
    when every per-token product is at least MIN_BATCHED_SIDE on the sides that reuse the factor; a
    thin side (like 1 or 2) makes them stream the factor once per token (at (1,3)/(768,256): 1.4 s
    against 0.17 s for the dense torch.kron), so those shapes use long GEMMs over transposed copies.
    """
    (a1, a2), (b1, b2) = a_shape, b_shape
    b_first, a_first = factorised_cost(a_shape, b_shape)
    x_with_b = b_first <= a_first
    reuse_sides = (a2, b1) if x_with_b else (a1, b2)
    return x_with_b, min(reuse_sides) >= MIN_BATCHED_SIDE


def factor_gradients(x: torch.Tensor, g: torch.Tensor, A: torch.Tensor, B: torch.Tensor):
    """``(sum_n G_n B X_n^T, sum_n G_n^T A X_n)`` for x of shape (n, a2*b2) and g of shape (n, a1*b1)."""
    x_with_b, per_token = contraction_plan(A.shape, B.shape)
    contract = _per_token if per_token else _transposed
    grad_A, grad_B = torch.zeros_like(A), torch.zeros_like(B)
    for xs, gs in zip(x.split(TOKENS_PER_CHUNK), g.split(TOKENS_PER_CHUNK), strict=True):
        contract(xs, gs, A, B, x_with_b, grad_A, grad_B)
    return grad_A, grad_B


def _per_token(xs, gs, A, B, x_with_b: bool, grad_A, grad_B) -> None:
    """Batched matmuls per token, the factor broadcast (not copied), summed over the chunk."""
    (a1, a2), (b1, b2) = A.shape, B.shape
    m = xs.shape[0]
    X, G = xs.reshape(m, a2, b2), gs.reshape(m, a1, b1)
    if x_with_b:
        XB = torch.bmm(X, B.T.expand(m, b2, b1))
        grad_A += torch.bmm(G, XB.transpose(1, 2)).sum(0)
        AG = torch.bmm(A.T.expand(m, a2, a1), G)
        grad_B += torch.bmm(AG.transpose(1, 2), X).sum(0)
    else:
        GB = torch.bmm(G, B.expand(m, b1, b2))
        grad_A += torch.bmm(GB, X.transpose(1, 2)).sum(0)
        AX = torch.bmm(A.expand(m, a1, a2), X)
        grad_B += torch.bmm(G.transpose(1, 2), AX).sum(0)


def _transposed(xs, gs, A, B, x_with_b: bool, grad_A, grad_B) -> None:
    """Copies of x and g with the token axis second, (a2, m, b2) and (a1, m, b1), then 2-D GEMMs only."""
    (a1, a2), (b1, b2) = A.shape, B.shape
    m = xs.shape[0]
    Xt = xs.reshape(m, a2, b2).transpose(0, 1).contiguous()
    Gt = gs.reshape(m, a1, b1).transpose(0, 1).contiguous()
    if x_with_b:
        XB = Xt.view(a2 * m, b2) @ B.T  # (a2, m, b1)
        grad_A.addmm_(Gt.view(a1, m * b1), XB.view(a2, m * b1).T)
        AG = A.T @ Gt.view(a1, m * b1)  # (a2, m, b1)
        grad_B.addmm_(AG.view(a2 * m, b1).T, Xt.view(a2 * m, b2))
    else:
        GB = Gt.view(a1 * m, b1) @ B  # (a1, m, b2)
        grad_A.addmm_(GB.view(a1, m * b2), Xt.view(a2, m * b2).T)
        AX = A @ Xt.view(a2, m * b2)  # (a1, m, b2)
        grad_B.addmm_(Gt.view(a1 * m, b1).T, AX.view(a1 * m, b2))


class KronLinearFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, A, B, scale: float):
        ctx.save_for_backward(x, weight, A, B)
        ctx.scale = scale
        ctx.has_bias = bias is not None
        return F.linear(x, fused_weight(weight, A, B, scale), bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight, A, B = ctx.saved_tensors
        scale = ctx.scale
        need_x, need_w, need_bias, need_A, need_B, _ = ctx.needs_input_grad
        g = grad_out.reshape(-1, grad_out.shape[-1])
        xs = x.reshape(-1, x.shape[-1])
        grad_x = grad_w = grad_bias = grad_A = grad_B = None
        if need_x:
            grad_x = (g @ fused_weight(weight, A, B, scale)).view(x.shape)
        if need_w:
            grad_w = g.T @ xs
        if need_bias and ctx.has_bias:
            grad_bias = g.sum(0)
        if need_A or need_B:
            grad_A, grad_B = factor_gradients(xs, g, A, B)
            grad_A, grad_B = grad_A * scale, grad_B * scale
        return grad_x, grad_w, grad_bias, grad_A, grad_B, None


def kron_linear(x, weight, bias, A, B, scale: float = 1.0) -> torch.Tensor:
    """``F.linear(x, weight + scale * kron(A, B), bias)`` with factorised gradients for A and B."""
    return KronLinearFunction.apply(x, weight, bias, A, B, scale)
