"""KARST (Zhu, Diao, Gao, Chen and Lu, "KARST: Multi-Kernel Kronecker Adaptation with Re-Scaling Transmission
for Visual Classification", ICASSP 2025, arXiv 2502.06779), written from the paper's description: a sum of N
Kronecker kernels with low-rank second factors, and learnable channel-wise re-scaling of the layer's output.

In SPEC terms, on each chosen linear layer (query/value by default) with frozen W (d_out, d_in) and bias b:

    dW = s * sum_{i=1..N} kron(A_i, B_i),    B_i = B_i_a B_i_b of rank r,    a1*b1 = d_out, a2*b2 = d_in
    y  = (1 + g) * (x (W + dW)^T + b) + h     (g, h of size d_out, elementwise over the output units)

The paper's ``dW = sum_i C_i kron (A_i B_i)`` is this with its C_i = A_i and its A_i B_i = B_i_a B_i_b, s = 1;
its re-scaling factors s_1, s_2 in ``y = (s_1 + 1) * (W_0 + dW) x + s_2`` are g (``rescale``) and h (``shift``).
N = ``adapter.terms``, r = ``adapter.inner_rank`` (the description fixes neither: defaults 4 and 8 here).
Initialisation: the paper draws C_i and A_i from a Gaussian and sets B_i to zero; here ``a_kaiming`` (A_i and
B_i_a Kaiming-uniform, B_i_b zero, the Kronecker family's init), so dW = 0, and g = h = 0: the model starts
as the base model exactly.

Forward: ``x (W + dW)^T`` as ``x W^T + s * sum_i kron_matmul(x, A_i, B_i)`` (per token X = x.reshape(a2, b2),
A_i X B_i^T), never building kron(A_i, B_i) or dW; then the re-scaling. Merging is the paper's
re-parameterisation: ``W' = diag(1 + g) (W + dW)``, ``b' = (1 + g) * b + h``, so inference costs what the base
model costs. A layer without a bias (T5's, Llama's) gets no shift h, so every KARST layer folds into its host.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

from ..core.placement import Placement, install_fused
from ..core.protocol import Adapter, AdapterError
from ..core.registry import register
from ..core.targets import wrap_linears
from ..kron.config import KronLinearConfig
from ..kron.layer import KronLinear


class Karst(KronLinear):
    """KronA's layer (N terms, rank-r B factors, factorised update) with the output re-scaled by ``1 + g`` and
    shifted by ``h``; mergeable into the host's weight and bias."""

    method = "karst"

    def __init__(
        self, a_shape, b_shape, scale: float = 1.0, init: str = "a_kaiming", *, shift: bool = True, **kw
    ):
        super().__init__(a_shape, b_shape, scale, init, **kw)
        d_out = self.term_shapes[0][0][0] * self.term_shapes[0][1][0]
        self.rescale = nn.Parameter(torch.zeros(d_out))
        self.shift = nn.Parameter(torch.zeros(d_out)) if shift else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AdapterError(
            "KARST computes its layer itself (host_forward): it re-scales the layer's whole output."
        )

    def fuses(self, host: nn.Module, x: torch.Tensor) -> bool:
        return False  # the update stays factorised: no Kronecker product is built in the forward

    def host_forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().host_forward(x)  # x (W + dW)^T + b, or the merged / disabled layer alone
        if not self.active:
            return y
        y = y * (1 + self.rescale).to(y.dtype)
        return y if self.shift is None else y + self.shift.to(y.dtype)

    def delta_weight(self) -> torch.Tensor:
        """diag(1 + g) (W + dW) - W."""
        return (
            self.rescale[:, None] * self.host_weight_values()
            + (1 + self.rescale)[:, None] * super().delta_weight()
        )

    def delta_bias(self) -> torch.Tensor | None:
        """(1 + g) * b + h - b; a host without a bias has no shift (and no bias update)."""
        bias = self._host.bias
        if bias is None:
            return None
        return self.rescale * bias + (self.shift if self.shift is not None else 0.0)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, rescale{', shift' if self.shift is not None else ''}"


@dataclass
class KarstConfig(KronLinearConfig):
    """KARST's settings: the Kronecker layer's (conf/adapter/krona.yaml), with N terms of rank-r B factors."""

    terms: int = 4
    inner_rank: int | None = 8

    def validate(self) -> None:
        super().validate()
        if self.weight_decompose:
            raise AdapterError(
                "adapter=karst re-scales each output unit itself (1 + g); weight_decompose (DoRA's magnitude, "
                "which builds W + dW every forward) does not apply: set adapter.weight_decompose=false."
            )

    def parameters_per_layer(self, a_shape, b_shape, d_out: int) -> int:
        """The Kronecker terms' parameters plus g and h (the budget counts h even where a layer has no bias)."""
        return super().parameters_per_layer(a_shape, b_shape, d_out) + 2 * d_out


@register("karst", KarstConfig, starts_as="base")
def apply(model: nn.Module, cfg: KarstConfig, placement: Placement) -> list[Adapter]:
    """KARST: N Kronecker terms with rank-r B factors and re-scaled outputs, on query/value by default; mergeable."""

    def layer(name: str, linear: nn.Linear) -> Karst:
        return cfg.layer_for(name, linear, functools.partial(Karst, shift=linear.bias is not None))

    return wrap_linears(model, placement, cfg.targets, layer, install_fused)
