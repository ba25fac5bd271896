"""What both sides of the adapter-hub parity check share: the tiny float64 BERT (its weights filled from a seed,
not from transformers' initialiser, so two transformers versions build the same model), the inputs, the one
forward-and-backward, and the map between kronlab's adapter parameter names and adapter-hub's.

Imports torch and transformers only: bench/parity_adapterhub_worker.py runs it inside adapter-hub's own virtual
environment (transformers 4.57), bench/parity_adapters.py and tests/parity/test_adapterhub_reference.py in kronlab's.
"""

from __future__ import annotations

import re

import torch
from torch import nn

TINY_BERT = {
    "vocab_size": 50,
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "intermediate_size": 64,
    "max_position_embeddings": 16,
    "type_vocab_size": 2,
    "num_labels": 3,
    "hidden_act": "gelu",
}
SEED = 23  # the number
WEIGHT_STD = 0.1


def tiny_bert(config_cls, model_cls) -> nn.Module:
    """The tiny BERT classifier in float64, eval mode (no dropout), every weight drawn from SEED by name."""
    model = model_cls(config_cls(**TINY_BERT, attn_implementation="eager")).double().eval()
    fill(model, SEED)
    return model


@torch.no_grad()
def fill(model: nn.Module, seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    for name, param in sorted(model.named_parameters()):
        noise = torch.randn(param.shape, generator=generator, dtype=torch.float64) * WEIGHT_STD
        param.copy_(1 + noise if name.endswith("LayerNorm.weight") else noise)


def inputs() -> dict[str, torch.Tensor]:
    """Two rows of 7 tokens, the second padded after 5, and the fixed weights of the scalar the gradients are of."""
    generator = torch.Generator().manual_seed(SEED + 1)
    ids = torch.randint(1, TINY_BERT["vocab_size"], (2, 7), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0
    types = torch.zeros_like(ids)
    types[:, 4:] = 1
    d, labels = TINY_BERT["hidden_size"], TINY_BERT["num_labels"]
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": types,
        "logit_weights": torch.randn(2, labels, generator=generator, dtype=torch.float64),
        "hidden_weights": torch.randn(2, 7, d, generator=generator, dtype=torch.float64),
    }


def forward_backward(
    model: nn.Module, batch: dict[str, torch.Tensor], trained: dict[str, nn.Parameter]
) -> dict:
    """Logits, the last hidden state, and the gradients of ``sum(logits * a) + sum(masked hidden * b)`` with respect
    to the input embeddings and each of ``trained``."""
    for param in model.parameters():
        param.grad = None
    embeds = model.get_input_embeddings()(batch["input_ids"]).detach().requires_grad_(True)
    positions = {"position_ids": batch["position_ids"]} if "position_ids" in batch else {}
    out = model(
        inputs_embeds=embeds,
        attention_mask=batch["attention_mask"],
        token_type_ids=batch["token_type_ids"],
        output_hidden_states=True,
        **positions,
    )
    hidden = out.hidden_states[-1]
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    loss = (out.logits * batch["logit_weights"]).sum() + (hidden * mask * batch["hidden_weights"]).sum()
    loss.backward()
    return {
        "logits": out.logits.detach(),
        "hidden": (hidden * mask).detach(),
        "input_grad": embeds.grad.detach(),
        "grads": {name: param.grad.detach().clone() for name, param in trained.items()},
    }


# kronlab: bert.encoder.layer.0.output.dense.pfeiffer.down.weight, ...down.s / .t / .bias (PHM), compacter_rules.rules
# adapter-hub: bert.encoder.layer.0.output.adapters.<a>.adapter_down.0.weight, ...adapter_up.W_left, bert.shared_parameters.<a>.phm_rule
KRONLAB_NAME = re.compile(
    r"(?P<layer>.+)\.(?P<block>output|attention\.output)\.dense\.\w+\.(?P<proj>down|up)\.(?P<leaf>\w+)"
)
HUB_PROJECTION = {"down": "adapter_down.0", "up": "adapter_up"}
HUB_LEAF = {"weight": "weight", "bias": "bias"}
HUB_PHM_LEAF = {"t": "W_left", "s": "W_right", "bias": "b"}  # W_left = t^T, W_right = s^T (see to_hub)


def hub_name(kronlab_name: str, adapter: str, phm: bool) -> str:
    if kronlab_name.endswith("_rules.rules"):
        return f"bert.shared_parameters.{adapter}.phm_rule"
    match = KRONLAB_NAME.fullmatch(kronlab_name)
    if match is None:
        raise ValueError(f"no adapter-hub name for kronlab parameter {kronlab_name!r}")
    leaf = (HUB_PHM_LEAF if phm else HUB_LEAF)[match["leaf"]]
    return f"{match['layer']}.{match['block']}.adapters.{adapter}.{HUB_PROJECTION[match['proj']]}.{leaf}"


def to_hub(kronlab_name: str, tensor: torch.Tensor, phm: bool) -> torch.Tensor:
    """kronlab's PHM layer computes ``x W^T`` with ``W = sum_i kron(A_i, s_i t_i)``; adapter-hub's ``x H`` with
    ``H = sum_i kron(R_i, L_i R'_i)``. ``W^T = H`` when ``R_i = A_i^T``, ``L_i = t_i^T``, ``R'_i = s_i^T``: every
    PHM tensor is transposed in its last two axes (the same map takes gradients back)."""
    leaf = kronlab_name.rsplit(".", 1)[-1]
    return tensor.transpose(-1, -2).contiguous() if phm and leaf in ("s", "t", "rules") else tensor
