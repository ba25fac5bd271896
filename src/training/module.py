"""The LightningModule: loss, metrics per eval set, AdamW over trainable parameters only."""

from __future__ import annotations

from dataclasses import dataclass

import lightning as L
import torch
from torch import nn
from torchmetrics import SumMetric

from src.backbones import Backbone
from src.data import GlueTask
from src.errors import ConfigError
from src.fields import check_settings, setting
from src.training.metrics import build_metrics, finish, undefined
from src.training.trainable_checkpoint import check_and_fill_frozen, drop_frozen, frozen_fingerprints

STAGE_PREFIX = {"validation": "val", "test": "test"}
UNDEFINED_NOTE = (
    "NaN, written as null in metrics: Pearson/Spearman correlation is undefined for a constant prediction "
    "or target (scipy: NaN). val/primary logs NaN; the checkpoint callback ranks it below every number."
)
NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight", "norm.weight")


@dataclass
class OptimSettings:
    """The ``optim`` config group: AdamW over the trainable parameters, warm-up, then linear decay or constant."""

    lr: float = setting(1e-3, gt=0)
    weight_decay: float = setting(0.0, ge=0)  # not applied to biases and layer norms
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = setting(1e-8, gt=0)
    warmup_steps: int = setting(0, ge=0)  # optimiser steps of linear warm-up; or use warmup_ratio
    warmup_ratio: float = setting(0.0, ge=0, lt=1)  # fraction of all optimiser steps spent warming up
    scheduler: str = setting(
        "linear", choices=("linear", "constant")
    )  # after warm-up: linear decay to 0 | constant

    def __post_init__(self) -> None:
        check_settings(self, "optim")
        if len(self.betas) != 2 or not all(0 <= beta < 1 for beta in self.betas):
            raise ConfigError(
                f"optim.betas={list(self.betas)}: give two numbers in [0, 1), e.g. optim.betas=[0.9,0.999]."
            )
        if self.warmup_steps and self.warmup_ratio:
            raise ConfigError("set optim.warmup_steps or optim.warmup_ratio, not both (the other to 0).")


class GlueModule(L.LightningModule):
    def __init__(
        self, backbone: Backbone, task: GlueTask, optim: OptimSettings, eval_names: dict[str, list[str]]
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.task = task
        self.optim = optim
        self.eval_names = eval_names
        self.metrics = nn.ModuleDict(
            {stage: nn.ModuleList(build_metrics(task) for _ in names) for stage, names in eval_names.items()}
        )
        # Predictions that are no label (T5 generated another word, or an STS-B output that is no number).
        self.non_label_counts = nn.ModuleDict(
            {stage: nn.ModuleList(SumMetric() for _ in names) for stage, names in eval_names.items()}
        )
        self.last_metrics: dict[str, dict[str, float]] = {}
        self._non_label_predictions: dict[str, int] = {}  # per eval set, text-to-text only
        self._undefined: dict[str, list[str]] = {}  # per stage: the metrics that came out NaN
        self._frozen_fingerprints: dict[str, list] | None = None
        self._validation_from_test = False

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Adapter-sized checkpoints: the frozen backbone comes from config on load (trainable_checkpoint.py).
        if self._frozen_fingerprints is None:  # frozen weights never change, so checksum them once
            self._frozen_fingerprints = frozen_fingerprints(self)
        drop_frozen(checkpoint, self._frozen_fingerprints)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        path = self._trainer.ckpt_path if self._trainer is not None else None
        check_and_fill_frozen(self, checkpoint, source=f"checkpoint {path}" if path else "the checkpoint")

    def on_fit_start(self) -> None:
        # from_pretrained returns the model in eval mode; fine-tuning wants dropout on.
        self.backbone.train()

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.backbone.loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch["input_ids"].shape[0])
        return loss

    def _eval_step(self, stage: str, batch: dict[str, torch.Tensor], dataloader_idx: int) -> None:
        prefix = STAGE_PREFIX[stage]
        suffix = self._suffix(stage, dataloader_idx)
        loss, predictions = self.backbone.loss_and_predictions(batch)
        self.log(
            f"{prefix}/loss{suffix}",
            loss,
            batch_size=batch["input_ids"].shape[0],
            add_dataloader_idx=False,
            sync_dist=True,
        )
        self.metrics[stage][dataloader_idx].update(predictions, self.backbone.targets(batch))
        self.non_label_counts[stage][dataloader_idx].update((predictions == self.backbone.non_label).sum())

    def _suffix(self, stage: str, dataloader_idx: int) -> str:
        name = self.eval_names[stage][dataloader_idx]
        return f"_{name}" if name else ""

    def _eval_epoch_end(self, stage: str) -> None:
        prefix = STAGE_PREFIX[stage]
        results: dict[str, float] = {}
        for idx, collection in enumerate(self.metrics[stage]):
            if not any(metric.update_called for metric in collection.values()):
                continue
            for name, value in finish(self.task, collection.compute()).items():
                results[f"{name}{self._suffix(stage, idx)}"] = value
            collection.reset()
            self._note_non_labels(f"{stage}{self._suffix(stage, idx)}", self.non_label_counts[stage][idx])
        if not results:
            return
        primary = f"{self.task.metric_names[0]}{self._suffix(stage, 0)}"
        others = {f"{prefix}/{k}": v for k, v in results.items() if k != primary}
        others[f"{prefix}/primary"] = results[primary]
        self.log_dict(others, add_dataloader_idx=False, sync_dist=True)
        self.log(
            f"{prefix}/{primary}", results[primary], prog_bar=True, add_dataloader_idx=False, sync_dist=True
        )
        self.last_metrics[stage] = results
        self._note_undefined(stage, undefined(results))

    def _note_non_labels(self, eval_set: str, count: SumMetric) -> None:
        if self.backbone.text_to_text:
            self._non_label_predictions[eval_set] = int(count.compute())
        count.reset()

    def _note_undefined(self, stage: str, names: list[str]) -> None:
        self._undefined.pop(stage, None)
        if names:
            self._undefined[stage] = names

    def report_test_as_validation(self) -> None:
        """The test pass's scores stand for validation too (the same rows): recorded and sent to every logger
        as ``val/...``, in place of the last epoch's."""
        scores = self.last_metrics.get("test")
        if scores is None:
            return
        self.last_metrics["validation"] = dict(scores)
        self._validation_from_test = True
        test_prefix = f"{STAGE_PREFIX['test']}/"
        logged = {
            f"{STAGE_PREFIX['validation']}/{key.removeprefix(test_prefix)}": float(value)
            for key, value in self.trainer.logged_metrics.items()
            if key.startswith(test_prefix)
        }
        for logger in self.trainer.loggers:
            logger.log_metrics(logged, step=self.trainer.global_step)
            logger.save()  # the test's end has already flushed the logger (a CSV file is written on save)

    def record_sections(self) -> dict[str, dict]:
        """The module's sections of the run record: how it predicted, and which metrics are undefined and
        why (results.json writes NaN as null)."""
        prediction: dict = {"protocol": self.backbone.prediction}
        if self._validation_from_test:
            prediction["validation_scores"] = "the test pass's: the same rows, scored once"
        if self._non_label_predictions:
            prediction["non_label_predictions"] = dict(self._non_label_predictions)
        sections = {"prediction": prediction}
        if self._undefined:
            sections["undefined_metrics"] = {"note": UNDEFINED_NOTE, **self._undefined}
        return sections

    def validation_step(self, batch, batch_idx, dataloader_idx: int = 0) -> None:
        self._eval_step("validation", batch, dataloader_idx)

    def test_step(self, batch, batch_idx, dataloader_idx: int = 0) -> None:
        self._eval_step("test", batch, dataloader_idx)

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("validation")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def configure_optimizers(self):
        trainable = [(n, p) for n, p in self.named_parameters() if p.requires_grad]
        groups = [
            {
                "params": [p for n, p in trainable if not n.endswith(NO_DECAY)],
                "weight_decay": self.optim.weight_decay,
            },
            {"params": [p for n, p in trainable if n.endswith(NO_DECAY)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(
            [g for g in groups if g["params"]],
            lr=self.optim.lr,
            betas=tuple(self.optim.betas),
            eps=self.optim.eps,
        )
        total = int(self.trainer.estimated_stepping_batches)
        warmup = self.optim.warmup_steps or int(self.optim.warmup_ratio * total)
        # Imported here: transformers' schedules import peft and bitsandbytes (seconds), which a process that
        # does not train (a study, a refused command line, an evaluation) never needs.
        from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

        if self.optim.scheduler == "linear":
            scheduler = get_linear_schedule_with_warmup(optimizer, warmup, total)
        else:
            scheduler = get_constant_schedule_with_warmup(optimizer, warmup)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
