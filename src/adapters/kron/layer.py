"""The Kronecker family's linear layer, one mergeable module: ``y = x (W + dW)^T + b`` with

    dW = s * sum_i kron(A_i, B_i)                    (``terms`` = k; KAdaptation / CDKA for k > 1)

its factors as ``factors.py`` keeps them (whole or rank-r products: LoKr; a fixed or learnable ``s``: LyCORIS'
``use_scalar``), and optionally DoRA's split into a magnitude and a direction (``weight_decompose``):
``W' = m * (W + dW) / ||W + dW||`` row by row (norm over the inputs of each output unit; the parameter
``magnitude``, d_out, initialised to ||W + dW||).

Installed by ``install_fused``, it computes the host layer itself: base and update in one GEMM with
``W + dW`` (``fused.py``) where building the k products costs less than the factorised update over the batch,
the factorised update added to the layer's output elsewhere; with ``weight_decompose`` the direction's norms
on top. Four forward paths, one function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..core.protocol import AdapterError
from ..core.quantized import is_quantized
from .factors import KronFactors
from .fused import fused_weight, kron_linear
from .product import factorised_cost, kron_sum


class KronLinear(KronFactors):
    """``x (W + s * sum_i kron(A_i, B_i))^T + b`` (or its DoRA form) on the host linear layer; mergeable."""

    method = "kron"
    mergeable = True

    def __init__(
        self,
        a_shape,
        b_shape,
        scale: float = 1.0,
        init: str = "a_kaiming",
        *,
        weight_decompose: bool = False,
        base_weight: torch.Tensor | None = None,
        **factor_settings,
    ) -> None:
        """``factor_settings``: ``KronFactors``' (terms, inner_rank, decompose, learn_scale, method).
        ``base_weight`` (the frozen W) is needed by the SVD initialisations and by ``weight_decompose``."""
        if weight_decompose and base_weight is None:
            raise AdapterError(
                f"KronA init={init!r} / weight_decompose needs the frozen weight (base_weight)."
            )
        super().__init__(a_shape, b_shape, scale, init, base_weight=base_weight, **factor_settings)
        self.magnitude = None
        if weight_decompose:
            with torch.no_grad():
                norms = torch.linalg.vector_norm(
                    fused_weight(base_weight.detach(), self.factors(), self.scale), dim=1
                )
            self.magnitude = nn.Parameter(norms.to(base_weight.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The update alone (``weight_decompose`` has none: its output is only defined with the layer's)."""
        if self.magnitude is not None:
            raise AdapterError(
                "KronA with weight_decompose computes its layer itself (host_forward); it has no separate update."
            )
        return self.update(x)

    def host_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The host linear layer's output with the update (installed as its forward by ``install_fused``)."""
        host = self._host
        base_forward = type(host).forward
        if not self.active:
            return base_forward(host, x)
        factors = self.factors()
        fused = self.fuses(host, x)
        if self.magnitude is None:
            if fused:
                return kron_linear(x, host.weight, host.bias, factors, self.scale)
            return base_forward(host, x) + self.update(x, factors)
        if fused:
            z = kron_linear(x, host.weight, None, factors, self.scale)
        else:
            z = F.linear(x, host.weight) + self.update(x, factors)
        y = z * self.direction_scale(factors).to(z.dtype)
        return y if host.bias is None else y + host.bias

    def direction_scale(self, factors: list[torch.Tensor]) -> torch.Tensor:
        """DoRA's ``m / ||W + dW||`` per output unit. The norms need W + dW itself: one more d_out x d_in pass per
        call, and one for their gradient (autograd through the products), never per token. The norm is not
        detached (DoRA's paper detaches it to save memory): the gradients are the formula's exact ones."""
        norms = torch.linalg.vector_norm(fused_weight(self._host.weight, factors, self.scale), dim=1)
        return self.magnitude / norms

    def fuses(self, host: nn.Module, x: torch.Tensor) -> bool:
        """Fold the update into the layer's GEMM when building the k products costs less than the factorised
        update over these tokens, in full precision only: under autocast or in half precision a small
        update added to W would be rounded away at W's scale, so there it stays a separate term. With
        ``weight_decompose`` the norms build W + dW every call anyway, so full precision always fuses. A 4-/8-bit
        host (bitsandbytes) holds no float W to add to: its own forward runs and the update is added beside it
        (LyCORIS' bypass form)."""
        if is_quantized(host) or type(host).forward is not nn.Linear.forward:
            return False
        if torch.is_autocast_enabled(x.device.type):
            return False
        first = self.factor_parts("A", 0)[0]
        if not (x.dtype == host.weight.dtype == first.dtype and x.dtype in (torch.float32, torch.float64)):
            return False
        if self.magnitude is not None:
            return True
        tokens = x.numel() // x.shape[-1]
        per_token = sum(min(factorised_cost(a, b)) for a, b in self.term_shapes)
        return tokens * per_token >= self.terms * host.weight.numel()

    def delta_weight(self) -> torch.Tensor:
        factors = self.factors()
        if self.magnitude is None:
            return self.scale * kron_sum(factors)
        weight = self.host_weight()
        merged = self.direction_scale(factors)[:, None] * fused_weight(weight, factors, self.scale)
        return merged - weight

    def extra_repr(self) -> str:
        shared = len(set(self.term_shapes)) == 1
        shapes = ", ".join(f"A={a}, B={b}" for a, b in self.term_shapes[: 1 if shared else None])
        shapes = f"terms={self.terms}, {shapes}" if self.terms > 1 else shapes
        scale = "learnable" if isinstance(self.scale, nn.Parameter) else f"{self.scale:g}"
        rank = (
            f", inner_rank={self.inner_rank} ({'A and B' if self.decomposed['A'] else 'B'})"
            if self.inner_rank
            else ""
        )
        dora = ", weight_decompose" if self.magnitude is not None else ""
        return f"{shapes}, scale={scale}{rank}{dora}"
