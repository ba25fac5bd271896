"""Every tiny backbone in conf/backbone/tiny_*.yaml (BERT, T5, DeBERTa, Llama, Qwen2, GPT-2, ...: real
tokenizers, random weights) built once, plus the method settings as adapter=<method> composes them, so every method is
checked on every family with the defaults a user gets. A new tiny YAML joins every generic test."""

from __future__ import annotations

import copy
import functools
import weakref
from collections.abc import Callable

import pytest
import torch
from omegaconf import OmegaConf
from torch import nn

from src.adapters import AdapterError, Installed, Placement, adapters_of, apply
from src.config import CONF_DIR
from tests.conftest import built_model, compose_config

_TINY = sorted(
    (CONF_DIR / "backbone").glob("tiny_*.yaml"),
    key=lambda p: (p.stem not in ("tiny_bert", "tiny_t5"), p.stem),
)
FAMILIES = {
    p.stem.removeprefix("tiny_"): p.stem for p in _TINY
}  # bert, t5 first: their random weights as before


@functools.cache
def composed_settings(method: str) -> dict:
    """``adapter=<method>`` as a run composes it: the method's dataclass defaults under its YAML's values."""
    return OmegaConf.to_container(compose_config([f"adapter={method}"]).adapter, resolve=True)


def method_settings(method: str, **overrides) -> dict:
    """The method's settings as a user gets them, with ``overrides``."""
    return {**composed_settings(method), **overrides}


def backbone_for(family: str):
    # a 1,000-token vocabulary (the batches use ids below 1,000) keeps copies and checkpoints small
    cfg = compose_config(
        [f"backbone={FAMILIES[family]}", "backbone.config.vocab_size=1000", "adapter=full", "task=rte"]
    )
    return built_model(cfg)


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
        apply_or_skip_refusal(model, method_settings(method, **overrides), placement)
        return bare, model.eval(), placement

    return make


def is_documented_refusal(error: AdapterError, placement: Placement) -> bool:
    """The one-line refusals a method may give on an architecture it cannot apply to (tests/adapters/
    test_refusals.py checks each is raised): GPT-2's Conv1D for methods that wrap nn.Linear (ours, or a peft
    type without a Conv1D layer), and the methods the architecture's row refuses (DeBERTa: prefix tuning)."""
    message = str(error)
    return "Conv1D" in message or any(reason in message for reason in placement.refusals.values())


INSTALLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def installed_of(model: nn.Module) -> Installed:
    """The handle ``apply`` returned for a model the ``adapted`` fixture built (kept here, not on the model)."""
    return INSTALLED[model]


def apply_or_skip_refusal(model: nn.Module, settings: dict, placement: Placement) -> None:
    try:
        INSTALLED[model] = apply(model, settings, placement)
    except AdapterError as error:
        if not is_documented_refusal(error, placement):
            raise
        pytest.skip(f"refused in one line: {error}")


@torch.no_grad()
def perturb(model: nn.Module, seed: int = 3, std: float = 0.05, adapters_only: bool = False) -> None:
    """Give trainable parameters (or only the adapters' own) non-zero values, so zero-initialised updates
    stop hiding bugs."""
    generator = torch.Generator().manual_seed(seed)
    owned = {id(p) for a in adapters_of(model) for p in a.owned_parameters()}
    for param in model.parameters():
        if param.requires_grad and (id(param) in owned or not adapters_only):
            param.add_(torch.randn(param.shape, generator=generator) * std)
