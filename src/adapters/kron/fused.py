"""A linear layer and its Kronecker update in one: ``y = x (W + s * sum_i kron(A_i, B_i))^T + bias``.

Forward and the input's gradient each cost one GEMM with the updated weight, exactly the frozen
layer's own work: the update adds only building the k products (k * d_out * d_in multiply-adds per
call, not per token). Each factor's gradient is contracted per token, never through the dense
``G^T X`` (that would cost the frozen layer's whole GEMM again):

    grad A_i = s * sum_n G_n B_i X_n^T        grad B_i = s * sum_n G_n^T A_i X_n
    grad s   = sum_i <grad A_i / s, A_i>      (= <G^T X, sum_i kron(A_i, B_i)>, without G^T X)

with X_n = x_n.reshape(a2, b2) and G_n = grad_y_n.reshape(a1, b1), each in its cheaper order, over
chunks of tokens so the intermediates stay in cache; terms of one shape share the chunk's transposed
copies of x and g (bench/kernels.py measures the whole layer, for every factorisation of 768 and 1024
with ``--grid all``). Factors stored as low-rank products (LoKr's ``B = B_a B_b``) are composed
before the call and get their gradients from A_i's and B_i's by autograd: small matrices, no dense
d_out x d_in gradient anywhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from .product import factorised_cost, kron_sum

TOKENS_PER_CHUNK = 512
MIN_BATCHED_SIDE = 16

Scale = float | torch.Tensor


def fused_weight(weight: torch.Tensor, factors, scale: Scale) -> torch.Tensor:
    if isinstance(scale, torch.Tensor):
        return weight + scale * kron_sum(factors)
    return torch.add(weight, kron_sum(factors), alpha=scale)


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


def factor_gradients(x: torch.Tensor, g: torch.Tensor, factors) -> list[torch.Tensor]:
    """``[sum_n G_n B_i X_n^T, sum_n G_n^T A_i X_n for each term]`` (unscaled) for x of shape (n, d_in) and g (n, d_out)."""
    pairs = list(zip(factors[0::2], factors[1::2], strict=True))
    plans = [contraction_plan(A.shape, B.shape) for A, B in pairs]
    grads = [torch.zeros_like(f) for f in factors]
    for xs, gs in zip(x.split(TOKENS_PER_CHUNK), g.split(TOKENS_PER_CHUNK), strict=True):
        copies: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        for i, ((A, B), (x_with_b, per_token)) in enumerate(zip(pairs, plans, strict=True)):
            if per_token:
                _per_token(xs, gs, A, B, x_with_b, grads[2 * i], grads[2 * i + 1])
                continue
            key = (*A.shape, *B.shape)
            if key not in copies:
                copies[key] = _transposed_copies(xs, gs, A.shape, B.shape)
            _transposed(*copies[key], A, B, x_with_b, grads[2 * i], grads[2 * i + 1])
    return grads


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


def _transposed_copies(xs, gs, a_shape, b_shape) -> tuple[torch.Tensor, torch.Tensor]:
    """x and g with the token axis second, (a2, m, b2) and (a1, m, b1): shared by the terms of one shape."""
    (a1, a2), (b1, b2) = a_shape, b_shape
    m = xs.shape[0]
    Xt = xs.reshape(m, a2, b2).transpose(0, 1).contiguous()
    Gt = gs.reshape(m, a1, b1).transpose(0, 1).contiguous()
    return Xt, Gt


def _transposed(Xt, Gt, A, B, x_with_b: bool, grad_A, grad_B) -> None:
    """2-D GEMMs only, over the transposed copies."""
    (a1, a2), (b1, b2) = A.shape, B.shape
    m = Xt.shape[1]
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
    def forward(ctx, x, weight, bias, scale, *factors):
        ctx.save_for_backward(x, weight, scale if isinstance(scale, torch.Tensor) else None, *factors)
        ctx.scale = scale if not isinstance(scale, torch.Tensor) else None
        ctx.has_bias = bias is not None
        return F.linear(x, fused_weight(weight, factors, scale), bias)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight, scale_tensor, *factors = ctx.saved_tensors
        scale = ctx.scale if scale_tensor is None else scale_tensor
        need_x, need_w, need_bias, need_scale, *need_factors = ctx.needs_input_grad
        g = grad_out.reshape(-1, grad_out.shape[-1])
        xs = x.reshape(-1, x.shape[-1])
        grad_x = grad_w = grad_bias = grad_scale = None
        grad_factors = [None] * len(factors)
        if need_x:
            grad_x = (g @ fused_weight(weight, factors, scale)).view(x.shape)
        if need_w:
            grad_w = g.T @ xs
        if need_bias and ctx.has_bias:
            grad_bias = g.sum(0)
        if need_scale or any(need_factors):
            unscaled = factor_gradients(xs, g, factors)
            if need_scale:
                # <G^T X, kron(A, B)> = <unscaled grad A, A>: bilinearity, no dense G^T X
                grad_scale = sum((ga * A).sum() for ga, A in zip(unscaled[0::2], factors[0::2], strict=True))
                grad_scale = grad_scale.reshape(scale.shape)
            grad_factors = [
                gf * scale if need else None for gf, need in zip(unscaled, need_factors, strict=True)
            ]
        return grad_x, grad_w, grad_bias, grad_scale, *grad_factors


def kron_linear(x, weight, bias, factors, scale: Scale = 1.0) -> torch.Tensor:
    """``F.linear(x, weight + scale * sum_i kron(A_i, B_i), bias)`` for factors = [A_0, B_0, A_1, B_1, ...],
    with factorised gradients for every factor and for ``scale`` when it is a tensor that requires grad."""
    return KronLinearFunction.apply(x, weight, bias, scale, *factors)
