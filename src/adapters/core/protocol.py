"""The protocol every adapter module follows."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from src.errors import UserError

from .quantized import dequantized_weight, is_quantized, merge_refusal


class AdapterError(UserError):
    """A configuration or state problem in an adapter, with the fix in the message."""


class Adapter(nn.Module):
    """A module that owns its trainable parameters and may fold itself into the backbone.

    Subclasses set ``method`` (the config name; ``method=`` at construction names a variant's modules, e.g.
    ``pfeiffer`` for the bottleneck class ``houlsby`` shares) and ``mergeable``; mergeable ones implement
    ``delta_weight()`` (the update to add to the host weight, and ``delta_bias()`` where the update changes the
    host's bias too) or override ``merge``/``unmerge``.
    """

    method: ClassVar[str] = "adapter"
    mergeable: ClassVar[bool] = False

    def __init__(self, method: str | None = None) -> None:
        super().__init__()
        if method:
            self.method = method  # type: ignore[misc]  # a variant's name on this instance
        self.merged = False
        self.enabled = True
        self._removals: list = []

    def keep_removal(self, handle) -> None:
        """Remember how to undo one change installing this adapter made to the model (anything with ``remove()``:
        a hook handle, a child or attribute handle); ``unload`` undoes them in reverse order."""
        self._removals.append(handle)

    def remove_from_model(self) -> None:
        """Undo every change this adapter's install made: hooks, forward overrides, its place as a child."""
        while self._removals:
            self._removals.pop().remove()

    @property
    def active(self) -> bool:
        """Whether the forward hook must add this adapter's contribution."""
        return self.enabled and not self.merged

    # Forward hooks. Bound methods, not closures, so copy.deepcopy(model) rebinds them to the copy.
    def capture_input(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        if self.active:
            self._stash = first_input(args, kwargs)

    def add_to_output(self, module: nn.Module, args: tuple, kwargs: dict, output):
        if not self.active:
            return None
        x = self.__dict__.pop("_stash", None)
        update = self(first_input(args, kwargs) if x is None else x)
        if isinstance(output, tuple):
            return (output[0] + update, *output[1:])
        return output + update

    def transform_output(self, module: nn.Module, args: tuple, kwargs: dict, output):
        if not self.active:
            return None
        if isinstance(output, tuple):
            return (self(output[0]), *output[1:])
        return self(output)

    def host_weight(self) -> torch.Tensor:
        host = getattr(self, "_host", None)
        if host is None or not hasattr(host, "weight"):
            raise AdapterError(f"{type(self).__name__} has no host linear layer to merge into.")
        return host.weight

    def host_weight_values(self) -> torch.Tensor:
        """The host weight's values in float, for computing an update from them (dequantized on a 4-/8-bit host)."""
        self.host_weight()
        return dequantized_weight(self.weight_layer())

    def delta_weight(self) -> torch.Tensor:
        raise NotImplementedError

    def delta_bias(self) -> torch.Tensor | None:
        """The update to add to the host's bias when merging; None (the default) leaves the bias alone."""
        return None

    @torch.no_grad()
    def merge(self) -> None:
        if not self.mergeable:
            raise AdapterError(
                f"{self.method} cannot be merged into the backbone: it is not weight-parallel."
            )
        if self.merged:
            return
        self.refuse_quantized_host()
        weight = self.host_weight()
        delta = self.delta_weight().to(weight.dtype)
        bias_delta = self.delta_bias()
        bias = self._host.bias if bias_delta is not None else None
        if not torch.isfinite(delta).all() or (
            bias_delta is not None and not torch.isfinite(bias_delta).all()
        ):
            raise AdapterError(
                f"refusing to merge {self.method} into {getattr(self, '_host_name', '?')}: "
                "its update holds NaN or Inf; the weights are left unmerged."
            )
        # (W + d) - d is not W in floating point: keep W (and b) so unmerge restores them bit for bit.
        self._unmerged_weight = weight.detach().clone()
        weight.add_(delta)
        if bias is not None:
            self._unmerged_bias = bias.detach().clone()
            bias.add_(bias_delta.to(bias.dtype))
        self.merged = True

    def weight_layer(self) -> nn.Module | None:
        """The layer holding the weight this adapter merges into (its host; a wrapped library's base layer)."""
        return getattr(self, "_host", None)

    @property
    def merges_in_place(self) -> bool:
        """Whether ``merge()`` can fold the update into the host weight: mergeable, on a plain float weight."""
        layer = self.weight_layer()
        return self.mergeable and not (layer is not None and is_quantized(layer))

    def refuse_quantized_host(self) -> None:
        """A 4-/8-bit host weight cannot take the update: refuse in one line, naming what to do instead."""
        layer = self.weight_layer()
        if layer is not None and is_quantized(layer):
            raise AdapterError(merge_refusal(self.method, getattr(self, "_host_name", "?"), layer))

    @torch.no_grad()
    def unmerge(self) -> None:
        if not self.merged:
            return
        self.host_weight().copy_(self.__dict__.pop("_unmerged_weight"))
        if "_unmerged_bias" in self.__dict__:
            self._host.bias.copy_(self.__dict__.pop("_unmerged_bias"))
        self.merged = False

    def owned_parameters(self) -> list[nn.Parameter]:
        """The parameters this adapter trains; adapters that wrap another library's layers override this."""
        return list(self.parameters())

    def resolved_settings(self) -> dict:
        """Settings the config left to be decided per layer (``auto``), as this layer resolved them."""
        return {}


def first_input(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]


def attach_host(adapter: Adapter, host: nn.Module, host_name: str) -> None:
    """Remember the host module without registering it as a child (that would make a cycle)."""
    object.__setattr__(adapter, "_host", host)
    object.__setattr__(adapter, "_host_name", host_name)
