"""Where a bottleneck sits inside a block, and where it takes its residual: the wirings adapter-hub defines
(``adapters`` 1.3, ``methods/modeling.py`` ``Adapter.pre_forward`` / ``post_forward``) and kronlab's earlier one.

A block computes ``N(x + D(h))``: h its output projection, D its dropout, x the residual stream, N its norm in a
post-norm layer (BERT) or nothing in a pre-norm one (T5, Llama). With ``f = up(act(down(.)))``:

- ``houlsby``: ``N(x + D(h) + f(D(h)))``, the bottleneck on the branch after its dropout (adapter-hub
  ``DoubleSeqBnConfig``, the Houlsby adapter; the AdaKron authors' BERT code);
- ``pfeiffer``: ``N(x + D(h) + f(N(x + D(h))))``, the bottleneck reads the block's normalised output, its residual
  is taken before the norm and the norm is applied again (adapter-hub ``SeqBnConfig``: original_ln_before,
  residual_before_ln, original_ln_after; the AdaKron authors' ``modeling_bert.py``);
- ``projection``: ``N(x + D(h + f(h)))``, on the output projection before dropout (kronlab before issue 23).

A parallel adapter ``s * f(x_in)`` (x_in the FFN block's input) adds to the branch after its dropout, ``branch``
(adapter-hub ``ParBnConfig``), or to the output projection before it, ``projection`` (kronlab before issue 23).
In eval mode (no dropout) ``houlsby`` and ``projection`` compute the same function.
"""

from __future__ import annotations

from torch import nn

from .placement import Site, add_child, install_sequential
from .protocol import Adapter, AdapterError, attach_host

SEQUENTIAL_WIRINGS = ("houlsby", "pfeiffer", "projection")
PARALLEL_WIRINGS = ("branch", "projection")


def wiring_module(model: nn.Module, site: Site, path: str | None, wiring: str) -> nn.Module:
    if path is None:
        raise AdapterError(
            f"adapter.wiring={wiring!r} needs the block's residual wiring, which this backbone's placement does not "
            f"declare for {site.writes}: add attention_wiring/ffn_wiring to its row in src/backbones/architectures.py, "
            "or set adapter.wiring=projection."
        )
    return model.get_submodule(path)


def host(model: nn.Module, site: Site, adapter: Adapter) -> None:
    """The adapter is a child of ``site.writes`` whatever its wiring, so saved adapter weights keep their names."""
    writes = model.get_submodule(site.writes)
    add_child(writes, adapter)
    attach_host(adapter, writes, site.writes)


def install_bottleneck(model: nn.Module, site: Site, adapter: Adapter, wiring: str) -> Adapter:
    """A sequential bottleneck (``adapter.transform_output`` / ``adapter.transform_branch``) wired as ``wiring``."""
    if wiring == "projection":
        return install_sequential(model, site, adapter)
    branch = wiring_module(model, site, site.branch, wiring)
    if wiring == "houlsby":
        host(model, site, adapter)
        adapter.keep_removal(branch.register_forward_hook(adapter.transform_output, with_kwargs=True))
        return adapter
    residual = wiring_module(model, site, site.residual, wiring)
    norm = model.get_submodule(site.norm) if site.norm else None
    host(model, site, adapter)
    object.__setattr__(
        adapter, "_norm", norm
    )  # the block's own norm, not a child: its weights stay the model's
    adapter.keep_removal(residual.register_forward_pre_hook(adapter.capture_input, with_kwargs=True))
    adapter.keep_removal(branch.register_forward_hook(adapter.transform_branch, with_kwargs=True))
    return adapter


def install_parallel_adapter(model: nn.Module, site: Site, adapter: Adapter, wiring: str) -> Adapter:
    """``s * f(input of site.reads)`` added to the branch after its dropout (``branch``) or to the output
    projection (``projection``)."""
    writes = model.get_submodule(site.writes)
    target = writes if wiring == "projection" else wiring_module(model, site, site.branch, wiring)
    host(model, site, adapter)
    if site.reads != site.writes or target is not writes:
        reads = model.get_submodule(site.reads)
        adapter.keep_removal(reads.register_forward_pre_hook(adapter.capture_input, with_kwargs=True))
    adapter.keep_removal(target.register_forward_hook(adapter.add_to_output, with_kwargs=True))
    return adapter
