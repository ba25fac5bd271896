"""The W&B workspace a KronA study needs, written with W&B's own workspace API (the ``wandb-workspaces``
package), so it is checked by W&B's schema when built and can be saved to a project as a saved view:

    pip install wandb-workspaces && wandb login
    python -m sweeps.wandb.workspace --entity <you> --project kronlab            # prints the view's URL

Runs are grouped by their W&B group (a Hydra multirun's sweep directory: src/run/wandb_run.py). Every key a panel
reads is one that kronlab logs: curves from the history, single numbers from the summary (``results.json``:
``latency.ratio``, ``train_speed.step_ms``, ...) or the config (the composed Hydra config, ``overrides.<key>``
for what the command line set, ``params/...`` from the parameter count); tests/sweeps/test_wandb_curves.py
checks that against a real offline run.
"""

from __future__ import annotations

import argparse

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws

# Curves (history keys, x = the optimiser step).
CURVES = {
    "training loss": "train/loss",
    "learning rate": "lr-AdamW/pg1",
    "validation score (primary metric)": "val/primary",
    "validation loss": "val/loss",
    "train step time (ms)": "train/step_ms",
}
SCORE = "test/primary"  # the best checkpoint's score on the reported split (summary)
PARAMS = "params/trainable_without_head"  # config: the papers' count
SHAPE = "overrides.kron_shapes"  # config: the swept [A, B] shapes as one categorical value
LATENCY = "latency.ratio"  # summary: adapted / bare backbone
STEP_MS = "train_speed.step_ms"  # summary: median over the timed steps
METHOD = "adapter.name"  # config


def summary_keys() -> list[str]:
    return [SCORE, LATENCY, STEP_MS]


def config_keys() -> list[str]:
    return [PARAMS, SHAPE, METHOD]


def kronlab_workspace(entity: str, project: str, name: str = "KronA study") -> ws.Workspace:
    curves = [wr.LinePlot(title=title, x="Step", y=[key]) for title, key in CURVES.items()]
    study = [
        wr.ScatterPlot(
            title="score vs trainable parameters (without head)",
            x=wr.Config(PARAMS),
            y=wr.SummaryMetric(SCORE),
            log_x=True,
        ),
        wr.BarPlot(
            title="score per factor shape (mean, min-max over seeds)",
            metrics=[wr.SummaryMetric(SCORE)],
            groupby=wr.Config(SHAPE),
            groupby_aggfunc="mean",
            groupby_rangefunc="minmax",
        ),
        wr.BarPlot(
            title="inference latency / bare backbone (1 = no cost)",
            metrics=[wr.SummaryMetric(LATENCY)],
            groupby=wr.Config(METHOD),
            groupby_aggfunc="mean",
            groupby_rangefunc="minmax",
        ),
        wr.BarPlot(
            title="train step time, median (ms)",
            metrics=[wr.SummaryMetric(STEP_MS)],
            groupby=wr.Config(METHOD),
            groupby_aggfunc="mean",
            groupby_rangefunc="minmax",
        ),
        wr.ParallelCoordinatesPlot(
            title="method, shape, size, cost and score",
            columns=[
                wr.ParallelCoordinatesPlotColumn(wr.Config(METHOD)),
                wr.ParallelCoordinatesPlotColumn(wr.Config(SHAPE)),
                wr.ParallelCoordinatesPlotColumn(wr.Config(PARAMS), log=True),
                wr.ParallelCoordinatesPlotColumn(wr.SummaryMetric(LATENCY)),
                wr.ParallelCoordinatesPlotColumn(wr.SummaryMetric(STEP_MS)),
                wr.ParallelCoordinatesPlotColumn(wr.SummaryMetric(SCORE)),
            ],
        ),
    ]
    return ws.Workspace(
        entity=entity,
        project=project,
        name=name,
        sections=[
            ws.Section(name="KronA study", panels=study, is_open=True),
            ws.Section(name="Training curves", panels=curves, is_open=True),
        ],
        runset_settings=ws.RunsetSettings(groupby=[ws.Metric("Group")]),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entity", required=True)
    parser.add_argument("--project", default="kronlab")
    parser.add_argument("--name", default="KronA study")
    args = parser.parse_args(argv)
    saved = kronlab_workspace(
        args.entity, args.project, args.name
    ).save()  # needs `wandb login` and the network
    print(saved.url)


if __name__ == "__main__":
    main()
