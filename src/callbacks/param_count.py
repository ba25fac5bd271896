"""Parameter counts at the start of a run: totals, percentages, and a table by role and module type."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import lightning as L
from rich.console import Console
from rich.table import Table
from torch import nn

from src.adapters import Adapter, Placement, count_parameters
from src.adapters.core.quantized import parameter_count
from src.backbones import Backbone

from .section import StandaloneMeasure


def _role_prefixes(model: nn.Module) -> list[tuple[str, str]]:
    """``(module-name prefix, "adapter:<method>")`` for every adapter, longest prefix first."""
    found = [
        (f"{name}.", f"adapter:{m.method}") for name, m in model.named_modules() if isinstance(m, Adapter)
    ]
    return sorted(found, key=lambda item: len(item[0]), reverse=True)


def _role(name: str, adapters: list[tuple[str, str]], placement: Placement) -> str:
    for prefix, role in adapters:
        if name.startswith(prefix):
            return role
    if any(name.startswith(prefix) for prefix in placement.head_prefixes):
        return "head"
    return "backbone"


def module_type_rows(model: nn.Module, placement: Placement) -> list[dict[str, Any]]:
    """One row per (role, module type): how many modules, parameters, trainable parameters.

    Roles: ``adapter:<method>``, ``head``, ``backbone``. Tied parameters count once (as in
    ``count_parameters``), under the first module that owns them.
    """
    adapters = _role_prefixes(model)
    rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
        lambda: {"modules": set(), "params": 0, "trainable": 0}
    )
    for name, param in model.named_parameters():
        owner = name.rpartition(".")[0]
        module_type = type(model.get_submodule(owner)).__name__
        row = rows[(_role(name, adapters, placement), module_type)]
        row["modules"].add(owner)
        row["params"] += parameter_count(param)
        row["trainable"] += param.numel() if param.requires_grad else 0
    return [
        {"role": role, "module_type": module_type, **row, "modules": len(row["modules"])}
        for (role, module_type), row in sorted(rows.items())
    ]


def param_table(model: nn.Module, placement: Placement) -> dict[str, Any]:
    """``count_parameters`` plus the percentage of the backbone with its head, and the per-type rows."""
    counts = count_parameters(model, placement)
    with_head = counts["backbone"] + counts["head"]
    return {
        **counts,
        "trainable_pct_of_backbone_with_head": 100.0 * counts["trainable"] / with_head,
        "rows": module_type_rows(model, placement),
    }


def render(table: dict[str, Any], title: str) -> Table:
    backbone = table["backbone"]
    out = Table(title=title)
    for column in ("role", "module type", "modules", "params", "trainable", "% of backbone"):
        out.add_column(column, justify="left" if column in ("role", "module type") else "right")
    for row in table["rows"]:
        pct = 100.0 * row["params"] / backbone
        out.add_row(
            row["role"],
            row["module_type"],
            str(row["modules"]),
            f"{row['params']:,}",
            f"{row['trainable']:,}",
            f"{pct:.4f}",
        )
    out.add_section()
    out.add_row("total", "", "", f"{table['total']:,}", f"{table['trainable']:,}", "")
    out.caption = (
        f"trainable: {table['trainable_pct_of_backbone']:.4f}% of the backbone without head (papers' convention), "
        f"{table['trainable_pct_of_backbone_with_head']:.4f}% with head; adapter only: {table['adapter']:,} "
        f"({table['adapter_pct_of_backbone']:.4f}%); layer norms {table['layernorm']:,} "
        f"({table['layernorm_trainable']:,} trainable)"
    )
    return out


class ParamCountCallback(StandaloneMeasure):
    """``results.json["param_table"]``: counted once when the first fit/validate/test sets up; printed and logged."""

    section = "param_table"
    log_prefix = "params"

    def __init__(self, enabled: bool = True, print_table: bool = True) -> None:
        super().__init__(enabled)
        self.print_table = print_table
        self._done = False

    def measure(self, backbone: Backbone) -> dict[str, Any]:
        table = param_table(backbone.model, backbone.placement())
        if self.print_table:
            method = backbone.installed.config if backbone.installed else None
            title = f"parameters: {type(backbone.model).__name__}" + (f" + {method.name}" if method else "")
            Console(width=max(Console().width, 100)).print(render(table, title))  # roles unclipped in a log
        return table

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if not self.enabled or self._done:
            return
        self._done = True
        self.print_table = self.print_table and trainer.is_global_zero
        self.publish(trainer, pl_module, self.measure(pl_module.backbone))
