"""Tiny BERT and tiny T5 (the real tokenizers, random weights) built once, plus the method settings from
conf/adapter/*.yaml, so every method is checked with the defaults a user gets."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from src.adapters import Placement, adapters_of, apply
from src.config import CONF_DIR
from src.train import build_model
from tests.conftest import compose_config

FAMILIES = {"bert": "tiny_bert", "t5": "tiny_t5"}


def method_settings(method: str, **overrides) -> dict:
    """The method's YAML defaults with ``overrides``."""
    settings = OmegaConf.to_container(OmegaConf.load(CONF_DIR / "adapter" / f"{method}.yaml"), resolve=True)
    return {**settings, **overrides}


def backbone_for(family: str):
    # a 1,000-token vocabulary (the batches use ids below 1,000) keeps copies and checkpoints small
    cfg = compose_config([f"backbone={FAMILIES[family]}", "backbone.config.vocab_size=1000", "adapter=full", "task=rte"])
    return build_model(cfg)



@pytest.fixture(scope="session")
def tiny_backbones() -> dict:
    torch.manual_seed(0)
    return {family: backbone_for(family) for family in FAMILIES}


def batch_for(family: str) -> dict[str, torch.Tensor]:
    """Two real-length rows, the second padded, so masks matter."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 1000, (2, 9), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    batch = {"input_ids": ids, "attention_mask": mask}
    if family == "t5":
        batch["decoder_input_ids"] = torch.randint(5, 1000, (2, 4), generator=generator)
    return batch


def logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.no_grad():
        return model(**batch).logits


@pytest.fixture
def adapted(tiny_backbones) -> Callable[..., tuple[nn.Module, nn.Module, Placement]]:
    """``adapted(family, method, **overrides)``: (bare copy, adapted copy, placement), both in eval mode."""

    def make(family: str, method: str, seed: int = 0, **overrides):
        backbone = tiny_backbones[family]
        bare = copy.deepcopy(backbone.model).eval()
        model = copy.deepcopy(backbone.model)
        torch.manual_seed(seed)
        placement = backbone.placement()
        apply(model, method_settings(method, **overrides), placement)
        return bare, model.eval(), placement

    return make


@torch.no_grad()
def perturb(model: nn.Module, seed: int = 3, std: float = 0.05, adapters_only: bool = False) -> None:
    """Give trainable parameters (or only the adapters' own) non-zero values, so zero-initialised updates
    stop hiding bugs."""
    generator = torch.Generator().manual_seed(seed)
    owned = {id(p) for a in adapters_of(model) for p in a.owned_parameters()}
    for param in model.parameters():
        if param.requires_grad and (id(param) in owned or not adapters_only):
            param.add_(torch.randn(param.shape, generator=generator) * std)
