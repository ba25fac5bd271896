"""How far a 4-/8-bit backbone is from its full-precision self before any training: the real pretrained MiniLM
loaded with ``backbone.quantize=nf4|fp4|int8`` (transformers' BitsAndBytesConfig) against the float one, on real
SST-2 dev sentences. Per mode: the relative error of the quantized weight matrices (||W_q - W|| / ||W||, the
weight the layers compute with, over every quantized layer) and the cosine between the encoders' token outputs.

``python -m bench.quantized_fidelity``
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch import nn

from src.adapters.core.quantized import dequantized_weight, is_quantized
from src.data import get_task
from src.data.readers import split_reader
from src.run.build import build_model

from .common import compose, configure_threads, write_table


def sentences(count: int) -> list[str]:
    """The first ``count`` sentences of the real SST-2 dev set."""
    cfg = compose("backbone=minilm", "adapter=lora", "task=sst2")
    rows = split_reader(get_task("sst2"), cfg.data.source, cfg.data.glue_dir)("validation")
    return list(rows[:count]["sentence"])


def built(quantize: str) -> nn.Module:
    cfg = compose("backbone=minilm", "adapter=lora", "task=sst2", f"backbone.quantize={quantize}")
    return build_model(cfg, get_task("sst2"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["nf4", "fp4", "int8"])
    parser.add_argument("--sentences", type=int, default=64)
    args = parser.parse_args(argv)
    configure_threads()
    reference = built("none")
    batch = reference.tokenizer(
        sentences(args.sentences), padding=True, truncation=True, max_length=64, return_tensors="pt"
    )
    mask = batch["attention_mask"].bool()
    float_layers = dict(reference.model.named_modules())
    with torch.no_grad():
        expected = reference.model.eval().bert(**batch).last_hidden_state[mask]
    rows = []
    for mode in args.modes:
        model = built(mode).model.eval()
        errors = [
            (dequantized_weight(m) - float_layers[n].weight).norm().item()
            / float_layers[n].weight.norm().item()
            for n, m in model.named_modules()
            if is_quantized(m)
        ]
        with torch.no_grad():
            tokens = model.bert(**batch).last_hidden_state[mask]
        cosine = nn.functional.cosine_similarity(tokens, expected, dim=-1)
        rows.append(
            {
                "quantize": mode,
                "quantized_layers": len(errors),
                "weight_error_median": statistics.median(errors),
                "weight_error_max": max(errors),
                "output_cosine_mean": cosine.mean().item(),
                "output_cosine_min": cosine.min().item(),
            }
        )
        print(
            f"  {mode}: weight error {rows[-1]['weight_error_median']:.3f}, cosine {rows[-1]['output_cosine_mean']:.4f}"
        )
    notes = [
        f"the real all-MiniLM-L6-v2 (../shared/models), its {args.sentences} first SST-2 dev sentences (at most 64 tokens); "
        "quantized through transformers' BitsAndBytesConfig, the classifier kept in float",
        "weight_error: ||W_q - W|| / ||W|| per quantized linear layer (W_q dequantized: what the layer computes with)",
        "output_cosine: cosine between the quantized and the float encoder's last hidden state, per real token",
    ]
    columns = list(rows[0])
    write_table(
        "quantized_fidelity", "A 4-/8-bit MiniLM against the float one, before training", rows, columns, notes
    )


if __name__ == "__main__":
    main()
