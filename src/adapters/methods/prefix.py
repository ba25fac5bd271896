"""Prefix tuning (Li & Liang): trainable key/value prefixes for every self-attention layer, produced by a
reparameterising MLP (embedding -> Linear -> tanh -> Linear) per layer.

How it hooks in: transformers routes attention through ``AttentionInterface``. Each prefixed attention
module gets its own copy of the config naming our registered attention function, which prepends the
prefix to the keys and values, widens the mask (and T5's position bias) by the prefix length, and calls
the module's original eager or sdpa attention. Works for every architecture whose attention goes through
that interface: BERT/RoBERTa/ELECTRA self-attention, T5 encoder and decoder self-attention (also with the
generation cache), causal decoders (Llama, Qwen2, Mistral, GPT-2), with grouped-query attention's narrower
keys and values; cross-attention is not prefixed. DeBERTa (its own disentangled attention) and other
attention implementations (flash, flex) are refused with an error.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AttentionInterface
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from ..core.placement import Placement, add_child, set_attribute
from ..core.protocol import Adapter, AdapterError, attach_host
from ..core.registry import MethodConfig, register

ATTENTION_NAME = "kronlab_prefix"
SUPPORTED = ("eager", "sdpa")


class Prefix(Adapter):
    method = "prefix"
    mergeable = False

    def __init__(self, hidden: int, kv_width: int, kv_heads: int, length: int, reparam_hidden: int) -> None:
        super().__init__()
        self.kv_heads = kv_heads
        self.embedding = nn.Parameter(torch.randn(length, hidden))
        self.mlp = nn.Sequential(
            nn.Linear(hidden, reparam_hidden), nn.Tanh(), nn.Linear(reparam_hidden, 2 * kv_width)
        )

    def forward(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of shape (batch, key/value heads, prefix length, head dim): with grouped-query
        attention, one per key/value head, shared by its group of query heads as the model's own keys are."""
        length = self.embedding.shape[0]
        kv = self.mlp(self.embedding).view(length, 2, self.kv_heads, -1).permute(1, 2, 0, 3)
        return kv[0].expand(batch_size, -1, -1, -1), kv[1].expand(batch_size, -1, -1, -1)


def widen_mask(mask: torch.Tensor | None, length: int, causal: bool, query: torch.Tensor, key: torch.Tensor):
    """The attention mask with ``length`` always-visible prefix columns in front."""
    if mask is None:
        if not causal or query.shape[2] == 1:
            return None
        q_len, k_len = query.shape[2], key.shape[2]
        hidden = torch.ones(q_len, k_len, dtype=torch.bool, device=query.device).triu(k_len - q_len + 1)
        mask = torch.zeros(1, 1, q_len, k_len, dtype=query.dtype, device=query.device)
        mask = mask.masked_fill(hidden, torch.finfo(query.dtype).min)
    visible = torch.ones if mask.dtype == torch.bool else torch.zeros
    return torch.cat([visible(*mask.shape[:-1], length, dtype=mask.dtype, device=mask.device), mask], dim=-1)


def prefixed_attention(module: nn.Module, query, key, value, attention_mask, **kwargs):
    prefix: Prefix = module.prefix
    if not prefix.active:
        return prefix.inner_attention(module, query, key, value, attention_mask, **kwargs)
    keys, values = prefix(query.shape[0])
    length = keys.shape[2]
    causal = bool(getattr(module, "is_causal", False))
    attention_mask = widen_mask(attention_mask, length, causal, query, key)
    bias = kwargs.get("position_bias")
    if bias is not None:  # T5: the relative position bias does not apply to prefix positions
        kwargs["position_bias"] = torch.cat([bias.new_zeros(*bias.shape[:-1], length), bias], dim=-1)
    kwargs["is_causal"] = (
        False  # the mask above carries causality; sdpa's flag would misalign with the prefix
    )
    key = torch.cat([keys.to(key.dtype), key], dim=2)
    value = torch.cat([values.to(value.dtype), value], dim=2)
    return prefix.inner_attention(module, query, key, value, attention_mask, **kwargs)


AttentionInterface.register(ATTENTION_NAME, prefixed_attention)


def original_attention(attention: nn.Module, where: str) -> Callable:
    name = attention.config._attn_implementation
    if name == ATTENTION_NAME:
        raise AdapterError(f"{where} already has a prefix: apply prefix tuning once per model.")
    if name not in SUPPORTED:
        raise AdapterError(
            f"prefix tuning supports attn_implementation {SUPPORTED}, but {where} uses {name!r}; "
            "load the backbone with attn_implementation='sdpa' or 'eager'."
        )
    if name == "eager":
        return importlib.import_module(type(attention).__module__).eager_attention_forward
    return ALL_ATTENTION_FUNCTIONS[name]


@dataclass
class PrefixConfig(MethodConfig):
    length: int = 10
    reparam_hidden: int | None = None

    def validate(self) -> None:
        if self.length < 1:
            raise AdapterError(f"adapter.length={self.length}: the prefix needs at least one position.")
        if self.reparam_hidden is not None and self.reparam_hidden < 1:
            raise AdapterError(
                f"adapter.reparam_hidden={self.reparam_hidden}: give a positive size, or null for the hidden size."
            )


def key_value_geometry(model: nn.Module, hidden: int) -> tuple[int, int]:
    """(key/value heads, width of one key or value projection) from the model's own config, which every
    architecture spells the same way (``num_key_value_heads`` fewer than the heads with grouped-query attention)."""
    config = model.config
    num_heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or getattr(config, "d_kv", None) or hidden // num_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or num_heads
    return kv_heads, kv_heads * head_dim


@register("prefix", PrefixConfig, starts_as="changed")
def apply(model: nn.Module, cfg: PrefixConfig, placement: Placement) -> list[Adapter]:
    """Prefix tuning: key/value prefixes per self-attention layer through a reparameterising MLP; not mergeable."""
    # every attention site reads its self-attention module: that is where the prefix goes
    self_attention = [site.reads for site in placement.attention]
    if not self_attention or getattr(model, "config", None) is None:
        raise AdapterError(
            f"the {placement.family} backbone's placement lists no self-attention blocks (or the model has no "
            "config with its head counts); add its model_type's row to src/backbones/architectures.py to use "
            "prefix tuning."
        )
    kv_heads, kv_width = key_value_geometry(model, placement.hidden_size)
    adapters = []
    for path in self_attention:
        attention = model.get_submodule(path)
        inner = original_attention(attention, path)
        prefix = Prefix(
            placement.hidden_size, kv_width, kv_heads, cfg.length, cfg.reparam_hidden or placement.hidden_size
        )
        prefix.inner_attention = inner
        own_config = copy.copy(attention.config)
        own_config._attn_implementation = ATTENTION_NAME
        set_attribute(attention, "config", own_config, prefix)
        add_child(attention, prefix)
        attach_host(prefix, attention, path)
        adapters.append(prefix)
    return adapters
