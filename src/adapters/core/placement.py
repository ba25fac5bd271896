"""Where adapters sit: data the backbone family provides, and the hooks that install them.

An adapter module is registered as a child of the module whose output it changes, under its
method name, so it appears in ``print(model)``, in ``state_dict`` and moves with ``.to()``. Every change an
install makes (child, hook, forward override) is kept on the adapter as a handle, which is how ``unload``
takes it out again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .protocol import Adapter, attach_host


@dataclass(frozen=True)
class Site:
    """One block of one layer: the adapter reads the input of ``reads`` and changes the output of ``writes``
    (an attention block reads its self-attention module's input).

    Where a family declares them, the block's residual wiring too (what adapter-hub's bottleneck adapters need):
    ``branch`` outputs the block's branch ``D(h)`` (after its dropout, just before the residual add), ``residual``
    takes the block's residual stream ``x`` as its first input, and ``norm`` is the norm over ``x + D(h)`` in a
    post-norm layer (BERT's ``LayerNorm``; None in a pre-norm layer, T5 or Llama)."""

    reads: str
    writes: str
    width: int
    branch: str | None = None
    residual: str | None = None
    norm: str | None = None


@dataclass(frozen=True)
class Placement:
    """What a backbone family tells the adapters package about one model instance."""

    family: str
    hidden_size: int
    default_targets: tuple[str, ...]
    ffn: tuple[Site, ...]
    attention: tuple[Site, ...]
    head_prefixes: tuple[str, ...]
    norm_types: tuple[type[nn.Module], ...] = (nn.LayerNorm,)
    # methods this architecture cannot take, each with its one-line refusal (``apply`` raises it)
    refusals: Mapping[str, str] = field(default_factory=dict)


@dataclass
class ChildHandle:
    """``parent.<name>`` was added as a child; ``remove()`` deletes it (if it is still the one added)."""

    parent: nn.Module
    name: str
    child: nn.Module

    def remove(self) -> None:
        if self.parent._modules.get(self.name) is self.child:
            del self.parent._modules[self.name]


@dataclass
class AttributeHandle:
    """``owner.<name>`` was set on the instance; ``remove()`` puts back what was there (or nothing, if ``not had``)."""

    owner: Any
    name: str
    had: bool
    previous: Any = None

    def remove(self) -> None:
        if self.had:
            setattr(self.owner, self.name, self.previous)
        else:
            self.owner.__dict__.pop(self.name, None)


def add_child(parent: nn.Module, adapter: Adapter, name: str | None = None) -> None:
    """Register ``adapter`` as a child of ``parent`` (under its method name) and keep the handle."""
    name = name or adapter.method
    parent.add_module(name, adapter)
    adapter.keep_removal(ChildHandle(parent, name, adapter))


def set_attribute(owner: Any, name: str, value: Any, adapter: Adapter) -> None:
    """``owner.<name> = value`` on the instance, kept on ``adapter`` so unloading restores the old value."""
    adapter.keep_removal(AttributeHandle(owner, name, name in owner.__dict__, owner.__dict__.get(name)))
    setattr(owner, name, value)


def install_parallel(model: nn.Module, site: Site, adapter: Adapter) -> Adapter:
    """``out(writes) += adapter(in(reads))``; reads == writes is the weight-parallel case."""
    writes = model.get_submodule(site.writes)
    add_child(writes, adapter)
    attach_host(adapter, writes, site.writes)
    if site.reads != site.writes:
        reads = model.get_submodule(site.reads)
        adapter.keep_removal(reads.register_forward_pre_hook(adapter.capture_input, with_kwargs=True))
    adapter.keep_removal(writes.register_forward_hook(adapter.add_to_output, with_kwargs=True))
    return adapter


def install_fused(model: nn.Module, site: Site, adapter: Adapter) -> Adapter:
    """The adapter computes the linear layer ``site.writes`` itself (``adapter.host_forward``), base and
    update together: for updates cheaper to fold into the layer's own GEMM than to add to its output."""
    linear = model.get_submodule(site.writes)
    add_child(linear, adapter)
    attach_host(adapter, linear, site.writes)
    set_attribute(linear, "forward", adapter.host_forward, adapter)
    return adapter


def install_sequential(model: nn.Module, site: Site, adapter: Adapter) -> Adapter:
    """``out(writes) = adapter(out(writes))``: the adapter includes its own residual."""
    writes = model.get_submodule(site.writes)
    add_child(writes, adapter)
    attach_host(adapter, writes, site.writes)
    adapter.keep_removal(writes.register_forward_hook(adapter.transform_output, with_kwargs=True))
    return adapter
