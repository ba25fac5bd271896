"""Tiny BERT and Llama with 4-/8-bit linear layers (``backbone.quantize``), built once per (family, mode), and their
dequantized float twins: the reference every quantized-base test compares with."""

from __future__ import annotations

import copy
import functools

import torch
from omegaconf import OmegaConf
from torch import nn

from src.adapters import apply
from src.adapters.core.quantized import dequantized_linear, is_quantized
from src.backbones import Backbone, BackboneSettings, build_backbone
from src.data import get_task
from tests.conftest import compose_config

from .conftest import method_settings

QUANTIZED_FAMILIES = ("bert", "llama")
MODES = ("nf4", "fp4", "int8")


@functools.cache
def quantized_backbone(family: str, mode: str) -> Backbone:
    """The bare tiny backbone (no adapter) with ``backbone.quantize=<mode>``; copy it before changing it."""
    cfg = compose_config(
        [
            f"backbone=tiny_{family}",
            "backbone.config.vocab_size=1000",
            f"backbone.quantize={mode}",
            "task=rte",
        ]
    )
    torch.manual_seed(0)
    return build_backbone(
        BackboneSettings(**OmegaConf.to_container(cfg.backbone, resolve=True)), get_task("rte")
    )


def dequantized_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every 4-/8-bit layer replaced by a float32 ``nn.Linear`` holding the weight it
    computes with: the same function in full precision."""
    twin = copy.deepcopy(model)
    for name, module in list(twin.named_modules()):
        if is_quantized(module):
            twin.set_submodule(name, dequantized_linear(module, torch.float32))
    return twin


def adapted_pair(family: str, mode: str, method: str, **overrides) -> tuple[nn.Module, nn.Module, object]:
    """(the quantized model with ``method``, the same method on its dequantized twin, the placement); the twin's
    trainable parameters are set to the quantized model's, so the two differ only in how W is stored."""
    backbone = quantized_backbone(family, mode)
    placement = backbone.placement()
    model, reference = copy.deepcopy(backbone.model), dequantized_copy(backbone.model)
    settings = method_settings(method, **overrides)
    torch.manual_seed(0)
    apply(model, settings, placement)
    torch.manual_seed(0)
    apply(reference, settings, placement)
    return model, reference, placement


def copy_trainable(source: nn.Module, target: nn.Module) -> None:
    """``target``'s trainable parameters set to ``source``'s (same names: the models differ only in their hosts)."""
    values = dict(source.named_parameters())
    with torch.no_grad():
        for name, param in target.named_parameters():
            if param.requires_grad:
                param.copy_(values[name])
