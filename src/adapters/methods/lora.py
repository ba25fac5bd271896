"""LoRA: a weight-parallel low-rank update ``y = x W^T + (alpha/r) x A^T B^T`` (mergeable)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from src.fields import setting

from ..core.placement import Placement
from ..core.protocol import Adapter, AdapterError
from ..core.registry import MethodConfig, PeftForm, register
from ..core.targets import wrap_linears


class LoRA(Adapter):
    method = "lora"
    mergeable = True

    def __init__(self, d_in: int, d_out: int, rank: int, alpha: float, dropout: float = 0.0) -> None:
        super().__init__()
        self.scale = alpha / rank
        self.A = nn.Parameter(torch.empty(rank, d_in))
        self.B = nn.Parameter(torch.zeros(d_out, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.dropout(x) @ self.A.T @ self.B.T) * self.scale

    def delta_weight(self) -> torch.Tensor:
        return (self.B @ self.A) * self.scale

    def extra_repr(self) -> str:
        return f"rank={self.A.shape[0]}, scale={self.scale}"


@dataclass
class LoRAConfig(MethodConfig):
    targets: list[str] | str | None = None
    rank: int = 8
    alpha: float | None = setting(None, gt=0)  # null: alpha = rank (scale 1)
    dropout: float = setting(0.0, ge=0, lt=1)

    def validate(self) -> None:
        if self.rank < 1:
            raise AdapterError(f"adapter.rank must be a positive integer, got {self.rank}.")


def to_peft(layers: dict[str, LoRA], hosts: dict[str, nn.Module]) -> PeftForm:
    """PEFT LoRA with the same ``alpha / r`` scale: ``lora_A`` is A, ``lora_B`` is B."""
    ranks = {a.A.shape[0] for a in layers.values()}
    scales = {a.scale for a in layers.values()}
    if len(ranks) > 1 or len(scales) > 1:
        raise AdapterError(
            f"export_peft writes one LoRA rank and scale for all layers; this model has ranks {sorted(ranks)}."
        )
    rank, scale = ranks.pop(), scales.pop()
    dropout = {getattr(a.dropout, "p", 0.0) for a in layers.values()}.pop()
    settings = {"r": rank, "lora_alpha": scale * rank, "lora_dropout": dropout}

    def fill(layer: nn.Module, adapter: LoRA) -> None:
        layer.lora_A["default"].weight.copy_(adapter.A)
        layer.lora_B["default"].weight.copy_(adapter.B)

    return "LORA", settings, fill


@register("lora", LoRAConfig, starts_as="base", to_peft=to_peft)
def apply(model: nn.Module, cfg: LoRAConfig, placement: Placement) -> list[Adapter]:
    """LoRA: low-rank update parallel to chosen weight matrices (query/value by default); mergeable."""
    alpha = cfg.rank if cfg.alpha is None else cfg.alpha
    return wrap_linears(
        model,
        placement,
        cfg.targets,
        lambda name, linear: LoRA(linear.in_features, linear.out_features, cfg.rank, alpha, cfg.dropout),
    )
