"""Merge the adapters before the test, so that the test runs on the merged model, and prove it is the same model.

The merge happens in ``on_test_start``: Lightning has already restored the ``ckpt_path`` weights
then, so the update is added once to the restored weights (merging earlier and then loading a
checkpoint would make the merged flag lie). ``on_test_end`` (or an exception) unmerges again,
and saving a checkpoint while merged is refused: it would add the update twice on load.

How the merged model is counted: a merged adapter's update lives in its host weight, so the
parameters it owns (``owned_parameters()``, peft's layers included) are no longer needed;
``merged_params`` is every parameter except those. ``stripped_params`` checks that by counting a
deep copy with the adapters actually taken out (``merge_and_unload``) and running it
(``stripped_max_abs_diff``); that copy is also what ``save`` writes.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.fabric.utilities.apply_func import move_data_to_device
from torch import nn

from src.adapters import AdapterError, adapters_of, disabled, merge_all, save_adapter
from src.atomic import atomic_directory

from .merge_quantized import dequantize_dtype, on_quantized_base, quantized_merge_section
from .section import SectionCallback
from .strip import without_adapters


class MergeMismatchError(AdapterError):
    """Merged and unmerged outputs differ by more than the configured tolerance."""


def logits(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The model's output logits on a batch, passing only the inputs its forward accepts."""
    accepted = inspect.signature(model.forward).parameters
    return model(**{k: v for k, v in batch.items() if k in accepted}).logits.float()


def first_batch(trainer: L.Trainer) -> tuple[dict[str, torch.Tensor], str]:
    """A real batch: the first validation batch of the datamodule, else the first test batch."""
    if trainer.datamodule is not None:
        loaders, source = trainer.datamodule.val_dataloader(), "validation"
    else:
        loaders, source = trainer.test_dataloaders, "test"
    loader = loaders[0] if isinstance(loaders, list | tuple) else loaders
    return next(iter(loader)), source


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def owned_count(adapters: list) -> int:
    """Parameters the adapters own, each counted once (peft's layers report theirs through owned_parameters)."""
    return sum(p.numel() for p in {id(p): p for a in adapters for p in a.owned_parameters()}.values())


class MergeCallback(SectionCallback):
    """``results.json["merge"]``: what merged, how far outputs moved (must stay under ``tolerance``), counts."""

    section = "merge"

    def __init__(
        self,
        enabled: bool = True,
        tolerance: float = 1e-4,
        verify_stripped_copy: bool = True,
        save: bool = False,
        save_dir: str | None = None,
        dequantize: Literal["float32", "bfloat16", "float16"] | None = None,
    ) -> None:
        super().__init__(enabled)
        self.dequantize = dequantize_dtype(dequantize)
        if save and not save_dir:
            raise ValueError(
                "callbacks.merge.save=true needs callbacks.merge.save_dir (a folder to write into)."
            )
        self.tolerance = tolerance
        self.verify_stripped_copy = verify_stripped_copy
        self.save = save
        self.save_dir = Path(save_dir) if save_dir else None
        self._merged_here: list[nn.Module] = []

    def on_test_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled:
            return
        with torch.inference_mode(False), torch.no_grad():
            section = self._merge_and_check(trainer, pl_module)
        self.publish(trainer, pl_module, section)

    def _merge_and_check(self, trainer: L.Trainer, pl_module: L.LightningModule) -> dict[str, Any]:
        backbone = pl_module.backbone
        model = backbone.model
        adapters = adapters_of(model)
        total = param_count(model)
        adapter_params = owned_count(adapters)
        batch, source = first_batch(trainer)
        batch = move_data_to_device(batch, pl_module.device)
        if on_quantized_base(model):
            section = quantized_merge_section(model, logits, batch, source, self.dequantize, self.tolerance)
            if section.get("max_abs_diff", 0.0) > self.tolerance:
                raise MergeMismatchError(
                    f"the merged copy in {section['dequantize']} differs from the quantized model by "
                    f"{section['max_abs_diff']:.3g} (max abs over a {source} batch), above "
                    f"callbacks.merge.tolerance={self.tolerance:g}: raise the tolerance for a half-precision copy."
                )
            return section
        before, predictions_before = logits(model, batch), backbone.predict(batch)
        with disabled(model):
            bare = logits(model, batch)
        if self.save and trainer.is_global_zero:
            method = backbone.installed.config if backbone.installed else None
            save_adapter(model, self.save_dir / "adapter", task=pl_module.task.name, method=method)

        self._merged_here = [a for a in adapters if a.mergeable and not a.merged]
        not_mergeable = merge_all(model)
        after = logits(model, batch)
        max_abs_diff = (after - before).abs().max().item()
        if not max_abs_diff <= self.tolerance:
            self._unmerge()
            raise MergeMismatchError(
                f"merged outputs differ from unmerged ones by {max_abs_diff:.3g} (max abs over a {source} batch), "
                f"above callbacks.merge.tolerance={self.tolerance:g}. The adapters are left unmerged. "
                "In low precision raise the tolerance; otherwise an adapter's merge() does not match its forward."
            )
        merged_params = total - owned_count([a for a in adapters if a.merged])
        section: dict[str, Any] = {
            "status": self._status(adapters, not_mergeable),
            "merged_adapters": sum(a.merged for a in adapters),
            "not_mergeable": sorted({a.method for a in not_mergeable}),
            "batch": source,
            "max_abs_diff": max_abs_diff,
            "tolerance": self.tolerance,
            "adapter_effect_max_abs": (before - bare).abs().max().item(),
            "predictions_agree": bool(torch.equal(backbone.predict(batch), predictions_before)),
            "params_total": total,
            "backbone_params": total - adapter_params,
            "merged_params": merged_params,
        }
        if not_mergeable or not (self.verify_stripped_copy or self.save):
            return section
        stripped = without_adapters(model)
        section["stripped_params"] = param_count(stripped)
        section["stripped_max_abs_diff"] = (logits(stripped, batch) - after).abs().max().item()
        section["merged_params_equal_backbone"] = (
            section["stripped_params"] == section["backbone_params"] == merged_params
        )
        if self.save and trainer.is_global_zero:
            atomic_directory(
                self.save_dir / "model",
                lambda tmp: (stripped.save_pretrained(tmp), backbone.tokenizer.save_pretrained(tmp)),
            )
            section["saved_to"] = str(self.save_dir)
        return section

    @staticmethod
    def _status(adapters: list, not_mergeable: list) -> str:
        if not adapters:
            return "no_adapters"
        if not not_mergeable:
            return "merged"
        return "partially_merged" if len(not_mergeable) < len(adapters) else "not_mergeable"

    def _unmerge(self) -> None:
        with torch.inference_mode(False), torch.no_grad():
            for adapter in self._merged_here:
                adapter.unmerge()
        self._merged_here = []

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._unmerge()

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._unmerge()

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict) -> None:
        if any(a.merged for a in adapters_of(pl_module)):
            raise AdapterError(
                "refusing to save a checkpoint while adapters are merged: loading it would add their update twice. "
                "Save before the test starts or after it ends (the merge callback unmerges in on_test_end)."
            )
