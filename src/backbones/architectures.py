"""Where adapters go in each Hugging Face architecture: one row per ``config.model_type``.

A new architecture of a known kind (an encoder like BERT, a decoder like Llama) is one row here plus one
YAML in conf/backbone/; PEFT keys its default targets the same way (``peft/utils/constants.py``). Paths are
relative to the model, ``{base}`` standing for its ``base_model_prefix``; per-layer paths are relative to a
layer. A row may refuse a method that cannot work on the architecture (``refuses``: method name -> its one-line refusal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from torch import nn

from src.adapters import Placement, Site

from .base import BackboneError


@dataclass(frozen=True)
class Wiring:
    """One block's residual wiring, relative to a layer: ``branch`` outputs the block's branch D(h) after its
    dropout, ``residual`` takes the residual stream x as its first input, ``norm`` normalises x + D(h)
    (post-norm layers only; None where the norm comes before the block)."""

    branch: str
    residual: str
    norm: str | None = None


@dataclass(frozen=True)
class Stack:
    """A stack of identical layers: ``layers`` (a ModuleList) with ``count`` entries (a config attribute)."""

    layers: str
    count: str
    self_attention: str  # the module whose output is the attention block's (heads mixed, before the residual)
    attention_output: str  # where an attention adapter writes (BERT: the output projection)
    ffn_input: str  # the FFN block: an adapter reads this module's input ...
    ffn_output: str  # ... and writes this module's output (before dropout, residual and norm)
    # Each block's residual wiring (Site.branch / residual / norm), for adapter-hub's bottleneck wirings:
    attention_wiring: Wiring | None = None
    ffn_wiring: Wiring | None = None


@dataclass(frozen=True)
class Architecture:
    kind: str  # the backbone family that builds it: encoder, decoder, t5
    stacks: tuple[Stack, ...]
    targets: tuple[str, ...]  # default weight-parallel targets (LoRA, KronA): query and value
    heads: tuple[str, ...]  # task head and any newly initialised pooler: trained with the adapters
    norms: tuple[str, ...]  # norm class names (adapter.train_layernorm)
    token_type_ids: bool = True
    refuses: Mapping[str, str] = field(default_factory=dict)  # methods it cannot take: the one-line refusal
    position_table: bool = True  # absolute positions: data.max_length must fit max_position_embeddings
    padding_offset: bool = False  # positions are numbered after the padding index (RoBERTa)


def _bert_like(base: str = "{base}", targets=("query", "value"), heads=("classifier",), **kw) -> Architecture:
    layer = Stack(
        f"{base}.encoder.layer",
        "num_hidden_layers",
        "attention.self",
        "attention.output.dense",
        "intermediate",
        "output.dense",
        attention_wiring=Wiring("attention.output.dropout", "attention.self", "attention.output.LayerNorm"),
        ffn_wiring=Wiring("output.dropout", "intermediate", "output.LayerNorm"),
    )
    return Architecture("encoder", (layer,), targets, heads, ("LayerNorm",), **kw)


def _llama_like(norm: str) -> Architecture:
    layer = Stack(
        "{base}.layers",
        "num_hidden_layers",
        "self_attn",
        "self_attn",
        "mlp",
        "mlp",
        attention_wiring=Wiring("self_attn", "input_layernorm"),
        ffn_wiring=Wiring("mlp", "post_attention_layernorm"),
    )
    return Architecture("decoder", (layer,), ("q_proj", "v_proj"), ("score",), (norm,), token_type_ids=False)


_T5_STACKS = (
    Stack(
        "encoder.block",
        "num_layers",
        "layer.0.SelfAttention",
        "layer.0.SelfAttention",
        "layer.1.DenseReluDense",
        "layer.1.DenseReluDense",
        attention_wiring=Wiring("layer.0.dropout", "layer.0.layer_norm"),
        ffn_wiring=Wiring("layer.1.dropout", "layer.1.layer_norm"),
    ),
    Stack(
        "decoder.block",
        "num_decoder_layers",
        "layer.0.SelfAttention",
        "layer.0.SelfAttention",
        "layer.2.DenseReluDense",
        "layer.2.DenseReluDense",
        attention_wiring=Wiring("layer.0.dropout", "layer.0.layer_norm"),
        ffn_wiring=Wiring("layer.2.dropout", "layer.2.layer_norm"),
    ),
)

ARCHITECTURES: dict[str, Architecture] = {
    "bert": _bert_like(),
    "roberta": _bert_like(padding_offset=True),
    "electra": _bert_like(),
    "deberta-v2": _bert_like(
        targets=("query_proj", "value_proj"),
        heads=("pooler", "classifier"),
        refuses={
            "prefix": "prefix tuning cannot apply to this model: DeBERTa's disentangled attention computes its "
            "scores itself, not through transformers' attention functions, so there is nowhere to prepend "
            "key/value prefixes"
        },
    ),
    "t5": Architecture("t5", _T5_STACKS, ("q", "v"), ("lm_head",), ("T5LayerNorm",), position_table=False),
    "llama": _llama_like("LlamaRMSNorm"),
    "qwen2": _llama_like("Qwen2RMSNorm"),
    "mistral": _llama_like("MistralRMSNorm"),
    "gpt2": Architecture(
        "decoder",
        (
            Stack(
                "{base}.h",
                "num_hidden_layers",
                "attn",
                "attn",
                "mlp",
                "mlp",
                attention_wiring=Wiring("attn", "ln_1"),
                ffn_wiring=Wiring("mlp", "ln_2"),
            ),
        ),
        ("c_attn",),
        ("score",),
        ("LayerNorm",),
        token_type_ids=False,
    ),
}


def architecture(model_type: str, family: str, backbone: str) -> Architecture:
    """The row for ``model_type``, refusing one that is missing or belongs to another family."""
    row = ARCHITECTURES.get(model_type)
    if row is None:
        raise BackboneError(
            f"backbone {backbone!r} has model_type {model_type!r}, which kronlab has no placement row for "
            f"(known: {', '.join(sorted(ARCHITECTURES))}). Add a row to src/backbones/architectures.py."
        )
    if row.kind != family:
        raise BackboneError(
            f"backbone {backbone!r} is a {model_type!r} model, built by the {row.kind!r} family: "
            f"set family: {row.kind} in its YAML (it says {family!r})."
        )
    return row


def model_types(kind: str) -> tuple[str, ...]:
    return tuple(sorted(t for t, row in ARCHITECTURES.items() if row.kind == kind))


def wiring_paths(layer: str, wiring: Wiring | None) -> dict[str, str | None]:
    """A block's wiring as Site fields, its paths made relative to the model."""
    if wiring is None:
        return {}
    return {
        "branch": f"{layer}.{wiring.branch}",
        "residual": f"{layer}.{wiring.residual}",
        "norm": f"{layer}.{wiring.norm}" if wiring.norm else None,
    }


def placement_for(model: nn.Module, family: str) -> Placement:
    """The placement of one model instance, read from its row and its config."""
    config = model.config
    row = ARCHITECTURES[config.model_type]
    base = model.base_model_prefix
    hidden = config.hidden_size
    attention, ffn = [], []
    for stack in row.stacks:
        prefix = stack.layers.format(base=base)
        for i in range(getattr(config, stack.count)):
            layer = f"{prefix}.{i}"
            attention.append(
                Site(
                    f"{layer}.{stack.self_attention}",
                    f"{layer}.{stack.attention_output}",
                    hidden,
                    **wiring_paths(layer, stack.attention_wiring),
                )
            )
            ffn.append(
                Site(
                    f"{layer}.{stack.ffn_input}",
                    f"{layer}.{stack.ffn_output}",
                    hidden,
                    **wiring_paths(layer, stack.ffn_wiring),
                )
            )
    parameter_names = [name for name, _ in model.named_parameters()]
    return Placement(
        family=family,
        hidden_size=hidden,
        default_targets=row.targets,
        ffn=tuple(ffn),
        attention=tuple(attention),
        # a head whose weights are tied to the embeddings (T5's lm_head) has no parameters of its own
        head_prefixes=tuple(h for h in row.heads if any(n.startswith(f"{h}.") for n in parameter_names)),
        norm_types=tuple({type(m) for m in model.modules() if type(m).__name__ in row.norms})
        or (nn.LayerNorm,),
        refusals=dict(row.refuses),
    )


def usable_positions(config) -> int | None:
    """How many tokens the model can embed, where an absolute position table limits it."""
    row = ARCHITECTURES.get(config.model_type)
    limit = getattr(config, "max_position_embeddings", None)
    if row is None or not row.position_table or limit is None:
        return None
    return limit - (getattr(config, "pad_token_id", 0) or 0) - 1 if row.padding_offset else limit
