"""Which linear layers a weight-parallel method wraps: names or a regex, the head skipped, and a one-line
refusal that names what there is when nothing matches."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from torch import nn

from .placement import Placement, Site, install_parallel
from .protocol import Adapter, AdapterError


def _matches(name: str, targets: str | Sequence[str]) -> bool:
    if isinstance(targets, str):
        return re.fullmatch(targets, name) is not None
    return name.rsplit(".", 1)[-1] in targets or name in targets


def refuse_conv1d(model: nn.Module, targets: str | Sequence[str], skip_prefixes: Sequence[str]) -> None:
    """GPT-2 style models compute their projections with transformers' ``Conv1D`` (transposed weight, q/k/v
    fused): name that instead of saying nothing matched."""
    conv = [
        name
        for name, module in model.named_modules()
        if type(module).__name__ == "Conv1D"
        and not any(name.startswith(p) for p in skip_prefixes)
        and _matches(name, targets)
    ]
    if conv:
        raise AdapterError(
            f"{conv[0]} (and {len(conv) - 1} more) are transformers Conv1D layers (weight stored transposed, GPT-2's "
            "c_attn holds q, k and v in one), not nn.Linear, which this method wraps; use adapter=peft "
            "(peft's LoRA/LoKr/IA3 handle Conv1D) or a block method (pa, houlsby, pfeiffer, krona_b, adakron, prefix)."
        )


def find_linears(
    model: nn.Module, targets: str | Sequence[str], skip_prefixes: Sequence[str] = ()
) -> list[tuple[str, nn.Linear]]:
    """Linear layers whose name ends in one of ``targets`` (a list) or fully matches it (a regex)."""
    found = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear)
        and not any(name.startswith(p) for p in skip_prefixes)
        and _matches(name, targets)
    ]
    if not found:
        refuse_conv1d(model, targets, skip_prefixes)
        linear_names = sorted(
            {n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, nn.Linear)}
        )
        raise AdapterError(
            f"no linear layer matched targets={list(targets) if not isinstance(targets, str) else targets!r}. "
            f"Linear layer names in this model: {linear_names}. "
            "Set adapter.targets to some of these (a list of names, or one regex over full module paths)."
        )
    return found


def wrap_linears(
    model: nn.Module,
    placement: Placement,
    targets: str | Sequence[str] | None,
    build: Callable[[str, nn.Linear], Adapter],
    install: Callable[[nn.Module, Site, Adapter], Adapter] = install_parallel,
) -> list[Adapter]:
    """Install a weight-parallel adapter on every targeted linear layer."""
    chosen = placement.default_targets if targets in (None, "default") else targets
    if not isinstance(chosen, str):
        chosen = tuple(chosen)
    linears = find_linears(model, chosen, skip_prefixes=placement.head_prefixes)
    return [
        install(model, Site(name, name, linear.out_features), build(name, linear)) for name, linear in linears
    ]
