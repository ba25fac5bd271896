"""kronlab's side of the prefix-tuning parity check against PEFT's PREFIX_TUNING (bench/parity_peft_worker.py).

The maths compared: keys and values prepended to every self-attention layer, produced from one embedding by
Linear-tanh-Linear. PEFT has one such MLP for all layers (its last Linear emits every layer's keys and values);
kronlab one per layer. kronlab's layer l gets PEFT's embedding and first Linear, and the rows of PEFT's last
Linear that make layer l's keys and values: the same function, and PEFT's gradients are kronlab's summed over the
layers (embedding, first Linear) or taken row block by row block (last Linear).
"""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForSequenceClassification

from bench.parity_common import SEED, TINY_BERT, forward_backward, inputs, tiny_bert
from src.adapters import apply, count_parameters
from src.backbones.architectures import placement_for

LENGTH, REPARAM_HIDDEN = 3, 16
COUNT_LENGTH = 10  # kronlab's default length, on BERT-base with the MLP as wide as the model (both defaults)
STD = 0.3


def peft_weights() -> dict[str, torch.Tensor]:
    d, layers = TINY_BERT["hidden_size"], TINY_BERT["num_hidden_layers"]
    shapes = {
        "prompt_encoder.embedding.weight": (LENGTH, d),
        "prompt_encoder.transform.0.weight": (REPARAM_HIDDEN, d),
        "prompt_encoder.transform.0.bias": (REPARAM_HIDDEN,),
        "prompt_encoder.transform.2.weight": (layers * 2 * d, REPARAM_HIDDEN),
        "prompt_encoder.transform.2.bias": (layers * 2 * d,),
    }
    generator = torch.Generator().manual_seed(SEED + 7)
    return {n: torch.randn(s, generator=generator, dtype=torch.float64) * STD for n, s in shapes.items()}


def layer_rows(layer: int) -> slice:
    """PEFT views its last Linear's output as (layers * 2, heads, head dim): layer l's key, then its value."""
    width = 2 * TINY_BERT["hidden_size"]
    return slice(layer * width, (layer + 1) * width)


def kronlab_prefix(weights: dict[str, torch.Tensor]) -> tuple[torch.nn.Module, dict[str, torch.nn.Parameter]]:
    model = tiny_bert(BertConfig, BertForSequenceClassification)
    apply(
        model,
        {"name": "prefix", "length": LENGTH, "reparam_hidden": REPARAM_HIDDEN},
        placement_for(model, "encoder"),
    )
    model.double().eval()
    params = {n: p for n, p in model.named_parameters() if ".prefix." in n}
    with torch.no_grad():
        for layer in range(TINY_BERT["num_hidden_layers"]):
            own = f"bert.encoder.layer.{layer}.attention.self.prefix"
            params[f"{own}.embedding"].copy_(weights["prompt_encoder.embedding.weight"])
            params[f"{own}.mlp.0.weight"].copy_(weights["prompt_encoder.transform.0.weight"])
            params[f"{own}.mlp.0.bias"].copy_(weights["prompt_encoder.transform.0.bias"])
            params[f"{own}.mlp.2.weight"].copy_(
                weights["prompt_encoder.transform.2.weight"][layer_rows(layer)]
            )
            params[f"{own}.mlp.2.bias"].copy_(weights["prompt_encoder.transform.2.bias"][layer_rows(layer)])
    return model, params


def as_peft_grads(grads: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    layers = range(TINY_BERT["num_hidden_layers"])
    own = [f"bert.encoder.layer.{layer}.attention.self.prefix" for layer in layers]
    return {
        "prompt_encoder.embedding.weight": sum(grads[f"{o}.embedding"] for o in own),
        "prompt_encoder.transform.0.weight": sum(grads[f"{o}.mlp.0.weight"] for o in own),
        "prompt_encoder.transform.0.bias": sum(grads[f"{o}.mlp.0.bias"] for o in own),
        "prompt_encoder.transform.2.weight": torch.cat([grads[f"{o}.mlp.2.weight"] for o in own]),
        "prompt_encoder.transform.2.bias": torch.cat([grads[f"{o}.mlp.2.bias"] for o in own]),
    }


def kronlab_count() -> int:
    with torch.device("meta"):
        model = BertForSequenceClassification(BertConfig(num_labels=2))
    placement = placement_for(model, "encoder")
    apply(model, {"name": "prefix", "length": COUNT_LENGTH}, placement)
    return int(count_parameters(model, placement)["adapter"])


def job() -> dict:
    return {
        "length": LENGTH,
        "reparam_hidden": REPARAM_HIDDEN,
        "weights": peft_weights(),
        "count_length": COUNT_LENGTH,
    }


def peft_positions(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """PEFT numbers the text after the prefix: positions LENGTH .. LENGTH + n - 1."""
    ids = batch["input_ids"]
    return {**batch, "position_ids": (torch.arange(ids.shape[1]) + LENGTH).expand_as(ids)}


def prefix_rows(theirs: dict, tolerance: float) -> dict:
    model, params = kronlab_prefix(job()["weights"])
    rows = []
    for batch, label, note in (
        (peft_positions(inputs()), "prefix, kronlab given PEFT's positions", "the same maths: keys and values prepended to every layer"),
        (inputs(), "prefix, each library's own positions", "PEFT numbers the text's positions after the prefix (it adds "
         f"num_virtual_tokens = {LENGTH}); kronlab's prefix is keys and values only and keeps the text's positions 0..n-1, "
         "as without it: a named difference, chosen"),
    ):  # fmt: skip
        ours = forward_backward(model, batch, params)
        ours["grads"] = as_peft_grads(ours["grads"])
        peft_out = theirs["outputs"]
        found = {q: float((ours[q] - peft_out[q]).abs().max()) for q in ("logits", "hidden", "input_grad")}
        found["parameter_grads"] = max(
            float((g - peft_out["grads"][n]).abs().max()) for n, g in ours["grads"].items()
        )
        rows.append({"method": label, **found, "equal": max(found.values()) < tolerance, "note": note})
    count = kronlab_count()
    rows.append({
        "method": f"prefix, length {COUNT_LENGTH}, MLP width 768, BERT-base: trainable parameters",
        "note": f"kronlab {count:,} (one MLP per layer) against PEFT {theirs['count']:,} (one MLP for all layers): "
        "a named difference in parameterisation; the same function when kronlab's per-layer copies are equal",
    })  # fmt: skip
    return {
        "columns": ("method", "logits", "hidden", "input_grad", "parameter_grads", "equal", "note"),
        "rows": rows,
        "notes": [f"prefix tuning: PEFT {theirs['peft']} PREFIX_TUNING (prefix_projection) in bench/.venv-adapters "
                  f"(transformers 4.57: PEFT 0.21 refuses BERT prefixes on transformers 5), length {LENGTH}, MLP width "
                  f"{REPARAM_HIDDEN}, weights N(0, {STD}^2) copied across (bench/parity_prefix.py)"],
        "kronlab_count": count,
        "peft_count": theirs["count"],
    }  # fmt: skip
