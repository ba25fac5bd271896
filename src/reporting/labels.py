"""Readable names for report rows: the method and what sets its setting apart in words (resolved factor shapes,
terms, ranks, bottlenecks), never ``auto``, a learning rate or an override string; a caller's own label wins."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

import pandas as pd

from src.record import RunRecord
from src.record.implicit import IMPLICIT_KEYS

log = logging.getLogger(__name__)

# Config keys that never make two runs different experiments (seeds are averaged, paths are per run).
NOT_A_SETTING = (
    "seed",
    "test",  # whether a test pass ran after training: no score of the validation pass changes
    "paths.",
    "data.glue_dir",
    "ckpt_path",
    "logger.",
    "callbacks.",
    "kron_shapes",
    "adakron_dims",
)

# Config keys that choose a Kronecker method's factor shapes: a factor-shape sweep varies these and nothing else.
SHAPE_KEYS = ("adapter.a_shape", "adapter.b_shape", "adapter.budget", "adapter.decompose_factor")
Pair = tuple[tuple[int, int], tuple[int, int]]


def resolved_shapes(record: RunRecord) -> list[Pair] | None:
    """The (A, B) factor shapes of each Kronecker term the run built, ``auto`` and ``lokr`` resolved.

    results.json records the config, not the built layers, so the shapes are resolved again with the method's own
    rule (``shapes_for`` / ``resolve_factor_shapes``, at the backbone's hidden size, which every default target and
    block site has) and kept only when they give the trainable count the run recorded (``param_table``'s adapter
    rows): a run whose layers resolved differently (other targets) gets no shapes rather than wrong ones."""
    config = record.config
    adapter = config.get("adapter") or {}
    if "a_shape" not in adapter:
        return None
    backbone = (config.get("backbone") or {}).get("config") or {}
    width = backbone.get("hidden_size") or backbone.get("d_model")
    try:
        from src.adapters import build_config  # registers every method
        from src.adapters.kron import per_term_shapes, resolve_factor_shapes

        cfg = build_config(adapter)
        explicit = adapter["a_shape"] not in (None, "auto", "lokr")
        if width is None and not explicit:
            return None
        if hasattr(cfg, "shapes_for"):  # KronA and its variants (LoKr): parallel to chosen linears
            a_shape, b_shape = (
                cfg.shapes_for(width or 0, width or 0, "report") if width else (cfg.a_shape, cfg.b_shape)
            )
            pairs = [((*a,), (*b,)) for a, b in per_term_shapes(a_shape, b_shape, cfg.terms)]
            per_layer = cfg.parameters_per_layer(*pairs[0], pairs[0][0][0] * pairs[0][1][0])
            per_layer = per_layer if len(set(pairs)) == 1 else None
        else:  # KronA^B(_res): one block per site, d x d
            (a1, a2), (b1, b2) = resolve_factor_shapes(
                cfg.a_shape, cfg.b_shape, width, width, "report", cfg.budget
            )
            pairs = [((a1, a2), (b1, b2))]
            biases = getattr(cfg, "biases", 0)
            residual = cfg.residual_settings()[0] if hasattr(cfg, "residual_settings") else None
            per_layer = a1 * a2 + b1 * b2 + (a1 * b1 if biases >= 1 else 0) + (a2 * b1 if biases == 2 else 0)
            per_layer += 1 if residual else 0
    except Exception as error:  # noqa: BLE001 - a label, not a check: a config this code cannot rebuild has none
        log.debug("no factor shapes for %s: %s", adapter.get("name"), error)
        return None
    rows = [
        r for r in record.section("param_table").get("rows", []) if str(r.get("role")).startswith("adapter:")
    ]
    if (
        rows
        and per_layer is not None
        and sum(r["params"] for r in rows) != per_layer * sum(r["modules"] for r in rows)
    ):
        return None  # the layers resolved to other shapes than the hidden size's
    if rows and per_layer is None and not explicit:
        return None
    return pairs


def shapes_text(pairs: list[Pair]) -> str:
    """``A 64x48, B 6x8``; one pair per term joined by `` + ``."""
    return " + ".join(f"A {a[0]}x{a[1]}, B {b[0]}x{b[1]}" for a, b in dict.fromkeys(pairs))


def base_label(config: dict[str, Any], shapes: str | None) -> str:
    """The method and what sets it apart in words: resolved factor shapes, terms, ranks, bottlenecks; never
    ``auto``, a learning rate or an override string (``lora r=4``, ``krona A 64x48, B 6x8, 2 terms``)."""
    adapter = config.get("adapter") or {}
    name = str(adapter.get("name") or "?")
    parts: list[str] = []
    if name == "peft":
        peft = adapter.get("peft_config") or {}
        name = f"peft {adapter.get('peft_type', '')}".strip()
        if peft.get("r") is not None:
            parts.append(f"r={peft['r']}")
    if "a_shape" in adapter:
        budget = adapter.get("budget")
        parts.append(shapes or (f"shapes for {budget:,} params a layer" if budget else "default shapes"))
        if (adapter.get("terms") or 1) > 1:
            parts.append(f"{adapter['terms']} terms")
        if adapter.get("inner_rank"):
            both = adapter.get("decompose") == "both"
            parts.append(f"{'A and B ' if both else ''}inner rank {adapter['inner_rank']}")
    if name in ("adakron",) and {"a", "r"} <= set(adapter):
        parts.append(f"a={adapter['a']}, r={adapter['r']}")
    if name in ("lora", "compacter") and adapter.get("rank") is not None:
        parts.append(f"r={adapter['rank']}")
    if name == "compacter" and adapter.get("n") is not None:
        parts.append(f"n={adapter['n']}")
    if "bottleneck" in adapter:
        hidden = ((config.get("backbone") or {}).get("config") or {}).get("hidden_size")
        bottleneck = adapter.get("bottleneck")
        if bottleneck is None and hidden and adapter.get("reduction_factor"):
            bottleneck = int(hidden // adapter["reduction_factor"])
        if bottleneck is not None:
            parts.append(f"bottleneck {bottleneck}")
    if name == "prefix" and adapter.get("length") is not None:
        parts.append(f"{adapter['length']} prefix tokens")
    if name == "madakron" and adapter.get("num_experts") is not None:
        parts.append(f"{adapter['num_experts']} experts")
    targets = adapter.get("targets")
    if targets:
        parts.append("on " + (targets if isinstance(targets, str) else ", ".join(map(str, targets))))
    return " ".join([name, ", ".join(parts)]).strip()


def _number(value: Any) -> str:
    """``0.004848`` -> ``4.8e-3``; other numbers short; lists as ``AxB``."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, list):
        return "x".join(_number(v) for v in value)
    if isinstance(value, bool) or value is None:
        return {True: "on", False: "off", None: "none"}[value]
    if isinstance(value, float):
        if value != 0 and not 1e-2 <= abs(value) < 1e4:
            mantissa, exponent = f"{value:.1e}".split("e")
            return f"{mantissa}e{int(exponent)}"
        return f"{value:.3g}"
    return str(value)


def in_words(key: str, value: Any) -> str:
    """One config difference as a reader would say it: ``optim.lr`` 0.00484 -> ``lr 4.8e-3``."""
    name = "lr" if key == "optim.lr" else key.rsplit(".", 1)[-1].replace("_", " ")
    return f"{name} {_number(value)}"


def is_location(value: Any) -> bool:
    """Where a file lies (the same checkpoint in another checkout), not a setting."""
    return isinstance(value, str) and value.startswith(("/", "~", "./", "../"))


def settings_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs' flat configs as settings: one column per key, none that is a location, and a setting added after
    a run (``IMPLICIT_KEYS``) filled in with the value that run computed with."""
    configs = pd.DataFrame(list(runs["_config"]), index=runs.index)
    configs = configs[[c for c in configs.columns if not configs[c].map(is_location).any()]]
    for key, before in IMPLICIT_KEYS.items():
        if key in configs:
            configs[key] = configs[key].astype(object).where(configs[key].notna(), before)
    return configs


def named(key: str, value: Any) -> bool:
    """Whether a label names this setting: it is set, and not at the value runs had before it existed."""
    unset = value is None or (isinstance(value, float) and math.isnan(value))
    return not unset and IMPLICIT_KEYS.get(key) != value


def distinct_labels(runs: pd.DataFrame) -> pd.Series:
    """Each run's ``label`` (kept where a caller set one), made unique per backbone x task: settings of a method
    that read the same get what else differs between them in words, the learning rate only when nothing
    else tells them apart, a number as the last resort."""
    labels = row_labels(runs).copy()
    for _, group in runs.groupby(["backbone", "method", "task"], dropna=False):
        first = group.drop_duplicates("setting")  # one run per setting (a setting is the same for every seed)
        for _label, same in first.groupby(labels[first.index], dropna=False):
            if len(same) < 2:
                continue
            configs = settings_table(same)
            said = ("adapter.a_shape", "adapter.b_shape") if same["shapes"].notna().all() else ()
            varying = [
                c for c in sorted(configs.columns)
                if not c.startswith((*NOT_A_SETTING, *said)) and configs[c].astype(str).nunique() > 1
            ]  # fmt: skip
            extra = {idx: "" for idx in same.index}
            for keys in (
                [c for c in varying if not c.startswith("optim.")],
                [c for c in varying if c.startswith("optim.")],
            ):
                if len(set(extra.values())) == len(extra):
                    break
                for idx in same.index:
                    extra[idx] = ", ".join(
                        filter(
                            None,
                            [
                                extra[idx],
                                *(
                                    in_words(c, configs.at[idx, c])
                                    for c in keys
                                    if named(c, configs.at[idx, c])
                                ),
                            ],
                        )
                    )
            if len(set(extra.values())) < len(extra):
                extra = {
                    idx: ", ".join(filter(None, [text, f"#{k + 1}"]))
                    for k, (idx, text) in enumerate(extra.items())
                }
            for idx, text in extra.items():
                setting = runs.at[idx, "setting"]
                if (
                    text
                ):  # the one that differs from the others only in what earlier runs all had: its own label
                    labels[group.index[group["setting"] == setting]] = f"{labels[idx]} ({text})"
    return labels


def row_labels(runs: pd.DataFrame) -> pd.Series:
    """The ``label`` column where it is set, else the method and its setting (rows built without collect)."""
    fallback = runs["method"].astype(str) + runs["setting"].fillna("").map(lambda s: f" {s}" if s else "")
    if "label" not in runs:
        return fallback
    return runs["label"].where(runs["label"].notna() & (runs["label"].astype(str) != ""), fallback)
