"""MAdaKron: AdaKron with several W2 experts (the authors' future work; their code has it for GPT-2 only).
Training: one expert chosen at random per forward. Inference (eval mode): the experts' weights averaged."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..core.placement import Placement, install_sequential
from ..core.protocol import Adapter, AdapterError
from ..core.registry import register
from .adakron import INIT_STD, AdaKron, AdaKronConfig


class MAdaKron(AdaKron):
    method = "madakron"

    def __init__(self, hidden: int, r: int, a: int, num_experts: int) -> None:
        super().__init__(hidden, r, a)
        del self.w2
        self.expert_weight = nn.Parameter(torch.randn(num_experts, a, hidden) * INIT_STD)
        self.expert_bias = nn.Parameter(torch.zeros(num_experts, a))

    def second_projection(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            expert = int(torch.randint(self.expert_weight.shape[0], ()))
            return F.linear(x, self.expert_weight[expert], self.expert_bias[expert])
        return F.linear(x, self.expert_weight.mean(0), self.expert_bias.mean(0))

    def extra_repr(self) -> str:
        return (
            f"r={self.up.in_features}, a={self.expert_weight.shape[1]}, experts={self.expert_weight.shape[0]}"
        )


@dataclass
class MAdaKronConfig(AdaKronConfig):
    num_experts: int = 4

    def validate(self) -> None:
        super().validate()
        if self.num_experts < 1:
            raise AdapterError(f"adapter.num_experts={self.num_experts}: give at least 1 W2 expert.")


@register("madakron", MAdaKronConfig, starts_as="near_base")
def apply(model: nn.Module, cfg: MAdaKronConfig, placement: Placement) -> list[Adapter]:
    """MAdaKron: AdaKron with random W2 experts in training, their average at inference; not mergeable."""
    return [
        install_sequential(model, s, MAdaKron(s.width, cfg.r, cfg.a, cfg.num_experts)) for s in placement.ffn
    ]
