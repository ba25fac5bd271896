"""``backbone.quantize``: the backbone's linear layers in 4 bits (NF4, FP4) or 8 bits (LLM.int8), frozen, through
bitsandbytes, as QLoRA does. The task head (and any newly initialised pooler) stays in full precision, as do the
norms and embeddings (they are not linear layers).

A pretrained model is loaded quantized by transformers (``BitsAndBytesConfig``); a random-init one
(``backbone.init=random``) is built in float and its linear layers are then swapped for bitsandbytes' layers
holding the same weights, quantized when they are moved to their device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import QUANTIZE, BackboneError

__all__ = ["QUANTIZE", "bnb_config", "check_quantized_base", "keep_weight_layout", "quantize_linears"]


def bitsandbytes():
    try:
        import bitsandbytes as bnb
    except ImportError as error:
        raise BackboneError(
            "backbone.quantize needs bitsandbytes: pip install -e '.[quant]' (or pip install bitsandbytes), "
            "or set backbone.quantize=none."
        ) from error
    return bnb


def check_quantized_base(mode: str, method) -> None:
    """Before any work: refuse a method whose settings cannot train on a ``mode`` base (its config says why),
    and a quantized base without bitsandbytes installed."""
    if mode == "none":
        return
    refusal = method.quantized_base_refusal()
    if refusal:
        raise BackboneError(f"backbone.quantize={mode}: {refusal}.")
    bitsandbytes()


def bnb_config(mode: str, skip: Sequence[str]):
    """transformers' ``BitsAndBytesConfig`` for ``mode`` (nf4, fp4, int8), leaving the modules ``skip`` in float."""
    bitsandbytes()
    from transformers import BitsAndBytesConfig

    if mode == "int8":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(skip))
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type=mode,
        bnb_4bit_compute_dtype=torch.float32,
        llm_int8_skip_modules=list(skip),  # transformers reads this one name for 4-bit models too
    )


def _quantized_twin(linear: nn.Linear, config) -> nn.Module:
    """A bitsandbytes layer of ``config``'s kind holding ``linear``'s weight and bias (quantized on ``.to``)."""
    bnb = bitsandbytes()
    weight = linear.weight.data
    if config.load_in_8bit:
        layer = bnb.nn.Linear8bitLt(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            has_fp16_weights=config.llm_int8_has_fp16_weight,
            threshold=config.llm_int8_threshold,
        )
        layer.weight = bnb.nn.Int8Params(weight, requires_grad=False, has_fp16_weights=False)
    else:
        layer = bnb.nn.Linear4bit(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            compute_dtype=config.bnb_4bit_compute_dtype,
            compress_statistics=config.bnb_4bit_use_double_quant,
            quant_type=config.bnb_4bit_quant_type,
            quant_storage=config.bnb_4bit_quant_storage,
        )
        layer.weight = bnb.nn.Params4bit(
            weight,
            requires_grad=False,
            compress_statistics=config.bnb_4bit_use_double_quant,
            quant_type=config.bnb_4bit_quant_type,
            quant_storage=config.bnb_4bit_quant_storage,
        )
    if linear.bias is not None:
        layer.bias = nn.Parameter(linear.bias.data, requires_grad=False)
    return layer.to(weight.device)


def keep_weight_layout(model: nn.Module) -> nn.Module:
    """Stop bitsandbytes repacking 4-bit weights for its AVX512-BF16 CPU kernel at the first no-grad eval forward:
    the repacking rewrites the weight in place (dequantizing it and unloading an adapter would then see another
    layout) and refuses layers whose width is not a multiple of 32. The layers then compute as they train."""
    for module in model.modules():
        if hasattr(module, "support_avx512bf16_for_cpu"):
            module.support_avx512bf16_for_cpu = False
    return model


def quantize_linears(model: nn.Module, config) -> nn.Module:
    """Swap every plain ``nn.Linear`` outside ``config.llm_int8_skip_modules`` for its quantized twin, in place."""
    from transformers.quantizers.quantizers_utils import should_convert_module  # the loading path's own rule

    # as transformers' quantizers do: the modules a model keeps in float32 (T5's wo) stay float too
    keep = [*(config.llm_int8_skip_modules or ()), *(getattr(model, "_keep_in_fp32_modules", None) or ())]
    chosen = [
        name
        for name, module in model.named_modules()
        if type(module) is nn.Linear and should_convert_module(name, keep)
    ]
    if not chosen:
        raise BackboneError(
            f"backbone.quantize={'int8' if config.load_in_8bit else config.bnb_4bit_quant_type}: "
            f"{type(model).__name__} has no nn.Linear layer to quantize "
            "(GPT-2's projections are transformers Conv1D layers): set backbone.quantize=none."
        )
    for name in chosen:
        model.set_submodule(name, _quantized_twin(model.get_submodule(name), config))
    # what transformers' quantizers mark on a model they load, and what peft reads to pick its bitsandbytes layers
    setattr(model, "is_loaded_in_8bit" if config.load_in_8bit else "is_loaded_in_4bit", True)
    return keep_weight_layout(model)
