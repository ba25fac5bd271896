"""Export to a Hugging Face PEFT adapter folder that ``PeftModel.from_pretrained(base, folder)`` loads.

LoRA becomes a PEFT LoRA adapter (same ``alpha/r`` scale). KronA (and ``lokr``) becomes a PEFT LoKr
adapter: LoKr's ``w1`` is A and ``w2`` is B with ``alpha = s * r`` (a learned or per-layer scale is folded
into w1 instead); without an inner rank nothing is decomposed (``r`` at least half of B's larger side, which
is when LoKr keeps ``w2`` whole), with one ``r`` is the inner rank and ``decompose=both`` is ``decompose_both``. LoKr picks
its factor shapes itself, from one ``decompose_factor`` for every layer; KronA shapes it cannot produce
are refused, naming the ones it can. What else trains (the classifier head, trained norms) is saved
through ``modules_to_save``. The folder is written by peft's own ``save_pretrained``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from src.atomic import atomic_directory

from .base import Adapter, AdapterError
from .functions import adapters_of
from .unload import unload

TASK_TYPES = {"ForSequenceClassification": "SEQ_CLS", "ForConditionalGeneration": "SEQ_2_SEQ_LM"}


def _peft():
    try:
        import peft
    except ImportError as error:
        raise AdapterError("export_peft needs the peft package: pip install peft") from error
    return peft


def _lora(layers: dict[str, Adapter]) -> tuple[str, dict[str, Any], Callable[[nn.Module, Adapter], None]]:
    ranks = {a.A.shape[0] for a in layers.values()}
    scales = {a.scale for a in layers.values()}
    if len(ranks) > 1 or len(scales) > 1:
        raise AdapterError(
            f"export_peft writes one LoRA rank and scale for all layers; this model has ranks {sorted(ranks)}."
        )
    rank, scale = ranks.pop(), scales.pop()
    dropout = {getattr(a.dropout, "p", 0.0) for a in layers.values()}.pop()
    settings = {"r": rank, "lora_alpha": scale * rank, "lora_dropout": dropout}

    def fill(layer: nn.Module, adapter: Adapter) -> None:
        layer.lora_A["default"].weight.copy_(adapter.A)
        layer.lora_B["default"].weight.copy_(adapter.B)

    return "LORA", settings, fill


def lokr_factor_shapes(
    d_out: int, d_in: int, decompose_factor: int
) -> tuple[tuple[int, int], tuple[int, int]]:
    """LoKr's (w1, w2) shapes for a d_out x d_in linear layer, as peft computes them."""
    from peft.tuners.lokr.layer import factorization

    (out_l, out_k), (in_m, in_n) = (
        factorization(d_out, decompose_factor),
        factorization(d_in, decompose_factor),
    )
    return (out_l, in_m), (out_k, in_n)


def _lokr_factor_for(layers: dict[str, Adapter], hosts: dict[str, nn.Linear]) -> int:
    """The one ``decompose_factor`` that gives every layer its KronA shapes, or a one-line refusal."""
    candidates = None
    for name, adapter in layers.items():
        d_out, d_in = hosts[name].out_features, hosts[name].in_features
        wanted = tuple(tuple(shape) for shape in adapter.term_shapes[0])
        fits = {
            f for f in (-1, *range(1, max(d_out, d_in) + 1)) if lokr_factor_shapes(d_out, d_in, f) == wanted
        }
        candidates = fits if candidates is None else candidates & fits
        if not candidates:
            expressible = sorted(
                {lokr_factor_shapes(d_out, d_in, f) for f in (-1, *range(1, max(d_out, d_in) + 1))}
            )
            raise AdapterError(
                f"PEFT LoKr cannot hold KronA's A={list(wanted[0])} B={list(wanted[1])} on {name} ({d_out}x{d_in}) "
                "with one decompose_factor for all layers; the (A, B) shapes LoKr can give this layer: "
                + ", ".join(f"{list(a)}/{list(b)}" for a, b in expressible)
                + ". Train KronA with one of these (adapter.a_shape, adapter.b_shape) to export it."
            )
    return -1 if -1 in candidates else min(candidates)


def _krona(layers: dict[str, Adapter], hosts: dict[str, nn.Linear]):
    """KronA / LoKr as one PEFT LoKr adapter. One fixed scale shared by every layer is LoKr's ``alpha / r``;
    a learned or per-layer scale is folded into each layer's w1 (then ``alpha = r``). An inner rank becomes
    LoKr's ``r``, ``decompose=both`` its ``decompose_both``. A sum of terms or a DoRA split has no LoKr form
    and is refused."""
    for name, adapter in layers.items():
        if adapter.terms > 1 or adapter.magnitude is not None:
            what = f"terms={adapter.terms}" if adapter.terms > 1 else "weight_decompose=true"
            raise AdapterError(
                f"PEFT LoKr holds one Kronecker term without a magnitude split; {name} has {what}: "
                "export it with save_adapter (kronlab's format), or merge it (merge_and_unload) and save the model."
            )
    factor = _lokr_factor_for(layers, hosts)
    ranks = {a.inner_rank for a in layers.values()}
    both = {a.decomposed["A"] for a in layers.values()}
    if len(ranks) > 1 or len(both) > 1:
        raise AdapterError(
            f"export_peft writes one LoKr rank for all layers; this model has {sorted(map(str, ranks))}."
        )
    rank, decompose_both = ranks.pop(), both.pop()
    r = (
        rank if rank is not None else max(max(a.term_shapes[0][1]) for a in layers.values())
    )  # whole w2: r >= max(B)/2
    learned = any(isinstance(a.scale, nn.Parameter) for a in layers.values())
    fixed = {a.scale for a in layers.values()}
    shared = fixed.pop() if not learned and len(fixed) == 1 else None
    alpha = r * (shared if shared is not None else 1.0)
    settings = {"r": r, "alpha": float(alpha), "decompose_factor": factor, "decompose_both": decompose_both}
    settings |= {"rank_dropout": 0.0, "module_dropout": 0.0}

    def fill(layer: nn.Module, adapter: Adapter) -> None:
        scale = 1.0 if shared is not None else float(adapter.scale)
        for letter, peft_name, scaled in (("A", "w1", scale), ("B", "w2", 1.0)):
            parts = adapter.factor_parts(letter, 0)
            whole = getattr(layer, f"lokr_{peft_name}")
            if "default" in whole:
                whole["default"].copy_(adapter.factor(letter, 0) * scaled)
            elif len(parts) == 2:
                getattr(layer, f"lokr_{peft_name}_a")["default"].copy_(parts[0] * scaled)
                getattr(layer, f"lokr_{peft_name}_b")["default"].copy_(parts[1])
            else:
                raise AdapterError(
                    f"peft built a decomposed LoKr {peft_name} for {adapter._host_name}: "
                    f"cannot hold KronA's whole {letter}."
                )

    return "LOKR", settings, fill


def _trained_modules(model: nn.Module, adapters: list[Adapter]) -> list[str]:
    """Modules outside the adapters with a trainable parameter (the head, trained norms): PEFT's modules_to_save."""
    owned = {id(p) for a in adapters for p in a.owned_parameters()}
    return sorted(
        {
            name.rpartition(".")[0]
            for name, param in model.named_parameters()
            if param.requires_grad and id(param) not in owned
        }
    )


def export_peft(model: nn.Module, directory: str | Path, base_model: str | None = None) -> Path:
    """Write ``model``'s LoRA or KronA adapter (and its trained head) as a PEFT adapter folder.

    ``PeftModel.from_pretrained(<the base model>, directory)`` then gives the same logits as ``model``."""
    peft = _peft()
    adapters = adapters_of(model)
    methods = sorted({a.method for a in adapters})
    if methods not in (["lora"], ["krona"], ["lokr"]):
        raise AdapterError(
            "export_peft writes lora (as PEFT LoRA) and krona or lokr (as PEFT LoKr); "
            f"this model has {methods or 'no adapters'}."
        )
    if any(a.merged for a in adapters):
        raise AdapterError(
            "unmerge the adapters (unmerge_all) before exporting them: merged updates live in the backbone."
        )
    layers = {a._host_name: a for a in adapters}
    hosts = {name: model.get_submodule(name) for name in layers}
    peft_type, settings, fill = _lora(layers) if methods == ["lora"] else _krona(layers, hosts)
    trained = _trained_modules(model, adapters)
    clash = sorted(set(trained) & set(layers))
    if clash:
        raise AdapterError(
            f"{clash} train both an adapter and their own weights: PEFT cannot save both; export is refused."
        )
    config_class = peft.mapping.PEFT_TYPE_TO_CONFIG_MAPPING[peft_type]
    task_type = next((t for suffix, t in TASK_TYPES.items() if type(model).__name__.endswith(suffix)), None)
    name_or_path = base_model or getattr(getattr(model, "config", None), "name_or_path", None) or None
    config = config_class(
        **settings,
        target_modules=sorted(layers),
        modules_to_save=trained or None,
        task_type=task_type,
        base_model_name_or_path=name_or_path,
    )
    base = unload(copy.deepcopy(model))
    peft_model = peft.get_peft_model(base, config)
    with torch.no_grad():
        for name, adapter in layers.items():
            fill(peft_model.base_model.model.get_submodule(name), adapter)
    return atomic_directory(directory, lambda tmp: peft_model.save_pretrained(tmp))
