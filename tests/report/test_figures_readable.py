"""The analysis figures read at a glance: rows named by their labels (resolved shapes, no override strings),
no two texts overlapping, score axes fitted to the data, the reference drawn. Over the committed CPU study's
runs (bench/results/studies/cpu/runs) and a small synthetic factor-shape sweep with close scores."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.text import Text

from src.config import ROOT
from src.reporting.figure_layout import texts_of
from src.reporting.figures import factor_shapes, figures, labels, latency_ratio
from src.reporting.runs import collect
from src.reporting.table import summarise

matplotlib.use("Agg")

CPU_RUNS = ROOT / "bench" / "results" / "studies" / "cpu" / "runs"
REFERENCES = {
    ("minilm", "sst2"): ("majority class", 50.9),
    ("minilm", "stsb"): ("frozen encoder zero-shot", 87.0),
    ("t5_base", "mnli"): ("majority class", 85.2),
}
# Override syntax: ``a_shape=...``, ``peft_config.r=4``, ``optim.lr=0.0048``; a paper's ``r=4`` / ``a=2`` is words.
RAW = re.compile(r"[\w.\[\]]+=")
WORDS = re.compile(r"\b[a-z]=\d+\b")


def overlapping_texts(fig) -> list[tuple[str, str]]:
    """Pairs of the figure's texts (titles, axis and tick labels, annotations, legend) whose boxes meet."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts = texts_of(fig)
    boxes = [Text.get_window_extent(t, renderer) for t in texts]
    return [
        (texts[i].get_text(), texts[j].get_text())
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if boxes[i].overlaps(boxes[j])
    ]


def raw_names(names) -> list[str]:
    return [n for n in names if "auto" in n or RAW.search(WORDS.sub("", n))]


@pytest.fixture(scope="module")
def cpu_table() -> pd.DataFrame:
    if not CPU_RUNS.exists():
        pytest.skip(f"{CPU_RUNS} is not in this checkout")
    return summarise(collect([CPU_RUNS]), with_paper=True)


@pytest.fixture(scope="module")
def shape_sweep() -> pd.DataFrame:
    """Five KronA shapes on one variant within 1.5 points of each other, one with the paper's number, plus a
    2-term row (another variant: not in the shape figure) and LoRA."""
    shapes = [
        ((48, 16), (16, 48)),
        ((32, 24), (24, 32)),
        ((24, 32), (32, 24)),
        ((12, 64), (64, 12)),
        ((2, 384), (384, 2)),
    ]
    rows = [
        {
            "backbone": "t5_base", "method": "krona", "task": "mnli", "seeds": 3,
            "setting": f"a_shape=[{a[0]}, {a[1]}] b_shape=[{b[0]}, {b[1]}]", "variant": "",
            "label": f"krona A {a[0]}x{a[1]}, B {b[0]}x{b[1]}", "shapes": f"A {a[0]}x{a[1]}, B {b[0]}x{b[1]}",
            "score": score, "score_std": 0.25, "trainable_without_head": 24 * (a[0] * a[1] + b[0] * b[1]),
            "paper": 86.5 if a == (48, 16) else None,
            "step_ms_median": 40.0 + k, "step_ms_p25": 38.0 + k, "step_ms_p75": 43.0 + k, "steps_timed": 20,
            "latency_ratio": 1.0 + k / 100, "latency_ratio_lo": 0.98, "latency_ratio_hi": 1.06,
            "latency_protocol": "quick",
        }
        for k, ((a, b), score) in enumerate(zip(shapes, [85.9, 86.4, 86.1, 85.4, 85.6], strict=True))
    ]  # fmt: skip
    rows.append({**rows[1], "variant": "terms=2", "label": "krona A 32x24, B 24x32, 2 terms", "score": 84.0})
    rows.append({**rows[0], "method": "lora", "setting": "", "variant": "", "label": "lora r=8", "shapes": None,
                 "paper": None, "score": 85.0, "trainable_without_head": 294912})  # fmt: skip
    return pd.DataFrame(rows)


def all_figures(table: pd.DataFrame) -> dict[str, object]:
    return dict(figures(table.assign(setting=table["setting"].fillna("")), REFERENCES))


def test_rows_are_named_in_words_with_resolved_shapes(cpu_table):
    names = list(cpu_table["label"])
    assert not raw_names(names), raw_names(names)
    assert len(set(zip(cpu_table["backbone"], cpu_table["task"], names, strict=True))) == len(cpu_table)
    keys = zip(cpu_table["task"], cpu_table["setting"].fillna(""), cpu_table["method"], strict=True)
    named = dict(zip(keys, names, strict=True))
    # KronA's auto shapes at budget 3,072 on MiniLM's 384 x 384 query/value: what the run built (3,120 a layer)
    assert (
        named["sst2", "a_shape=auto b_shape=auto init=a_kaiming terms=1", "krona"] == "krona A 64x48, B 6x8"
    )
    assert (
        named["sst2", "a_shape=auto b_shape=auto init=a_kaiming terms=2", "krona"]
        == "krona A 48x32, B 8x12, 2 terms"
    )
    assert named["sst2", "", "lora"] == "lora r=4"
    assert {"peft LORA r=4", "peft LOKR r=8", "krona_res A 96x64, B 4x6", "bitfit"} <= set(names)


def test_every_cpu_figure_is_readable(cpu_table):
    drawn = all_figures(cpu_table)
    assert {"score_vs_params-minilm-sst2", "score_vs_params-minilm-stsb", "step_time-minilm-sst2"} <= set(
        drawn
    )
    # krona's three SST-2 rows differ in init and terms as well as shape: no factor-shape figure from them
    assert not [name for name in drawn if name.startswith("factor_shapes")]
    for name, fig in drawn.items():
        assert not overlapping_texts(fig), (name, overlapping_texts(fig))
        shown = [t.get_text() for t in texts_of(fig)]
        assert not raw_names(shown), (name, raw_names(shown))
        if name.startswith("score_vs_params"):
            ax = fig.axes[0]
            assert [line for a in fig.axes for line in a.get_lines() if line.get_gid() == "reference"], name
            low, high = ax.get_xlim()
            params = cpu_table[cpu_table["method"] != "full"]["trainable_without_head"]
            assert params.min() / 1.5 < low < params.min() and params.max() < high < 1.5 * params.max()
        plt.close(fig)


def test_sst2_reference_far_below_the_scores_sits_on_its_own_strip(cpu_table):
    fig = dict(all_figures(cpu_table))["score_vs_params-minilm-sst2"]
    main, strip = fig.axes[:2]
    rows = cpu_table[cpu_table["task"] == "sst2"]
    low, high = main.get_ylim()
    assert (rows["score"] - rows["score_std"]).min() - 2 < low and high < (
        rows["score"] + rows["score_std"]
    ).max() + 2
    [line] = [line for line in strip.get_lines() if line.get_gid() == "reference"]
    assert list(line.get_ydata()) == [50.9, 50.9]
    assert "majority class: 50.9" in [t.get_text() for t in strip.texts]
    plt.close("all")


def test_factor_shape_figure_shows_close_scores(shape_sweep):
    drawn = all_figures(shape_sweep)
    assert [n for n in drawn if n.startswith("factor_shapes")] == ["factor_shapes-t5_base-mnli-krona"]
    fig = drawn["factor_shapes-t5_base-mnli-krona"]
    ax = fig.axes[0]
    ticks = [t.get_text() for t in fig.axes[-1].get_xticklabels() if t.get_text()]
    assert len(ticks) == 5 and ticks[0].startswith("A 2x384\nB 384x2")  # one variant: the 2-term row left out
    assert not any("auto" in t or "=" in t for t in ticks)
    low, high = ax.get_ylim()
    assert (
        84.0 < low < 85.15 and 86.75 < high < 88.0
    )  # around 85.15-86.75 (± std, the paper's 86.5), not from 0
    assert not ax.patches  # points with error bars, no bars
    for name, fig in drawn.items():
        assert not overlapping_texts(fig), (name, overlapping_texts(fig))
        assert not raw_names(t.get_text() for t in texts_of(fig)), name
    plt.close("all")


def test_many_shapes_get_tick_labels_that_do_not_overlap(shape_sweep):
    wide = pd.concat([shape_sweep.iloc[:5]] * 3, ignore_index=True)
    wide["shapes"] = [f"A {8 * (k + 1)}x{4 + k}, B {k + 2}x{300 + k}" for k in range(len(wide))]
    wide["label"] = "krona " + wide["shapes"]
    fig = factor_shapes(wide, ("majority class", 35.4))
    assert not overlapping_texts(fig), overlapping_texts(fig)
    low, high = fig.axes[0].get_ylim()
    assert high - low < 5  # the far reference on a strip, not stretching the axis
    assert "majority class: 35.4" in [t.get_text() for a in fig.axes for t in a.texts]
    plt.close(fig)


def test_a_near_reference_is_a_line_on_the_score_axis(shape_sweep):
    fig = factor_shapes(shape_sweep.iloc[:5], ("frozen encoder zero-shot", 85.0))
    assert len(fig.axes) == 1
    [line] = [line for line in fig.axes[0].get_lines() if line.get_gid() == "reference"]
    assert list(line.get_ydata()) == [85.0, 85.0]
    assert not overlapping_texts(fig)
    plt.close(fig)


def test_latency_bars_are_named_by_label(shape_sweep):
    ticks = [t.get_text() for t in latency_ratio(shape_sweep).axes[0].get_yticklabels()]
    assert "krona (A 48x16, B 16x48)" in ticks and "lora (r=8)" in ticks
    assert list(labels(shape_sweep.drop(columns="label"))[:1]) == ["krona A 48x16, B 16x48"]
    plt.close("all")


def test_write_figures_draws_the_references(cpu_table, tmp_path: Path):
    from src.reporting.figures import write_figures

    written = write_figures(cpu_table, tmp_path, REFERENCES)
    assert {p.name for p in written} >= {"score_vs_params-minilm-sst2.png", "score_vs_params-minilm-stsb.png"}
    assert all(p.stat().st_size > 1000 for p in written)
