"""The kernel table's family rows compare like with like: PEFT's LoKr layer built by bench/kron_family.py
computes the same function as the KronA variant it is timed against (same factors, rank, terms, scale), and
every registered method on the Kronecker linear layer gets its row without an edit here."""

from __future__ import annotations

import pytest
import torch

from bench import kron_family
from bench.kernels import frozen_linear


@pytest.mark.parametrize("variant", kron_family.VARIANTS)
def test_peft_lokr_row_holds_the_same_update(variant):
    torch.manual_seed(0)
    layer = kron_family.method_layer(
        "krona", frozen_linear(48), (8, 6), (6, 8), {**kron_family.VARIANTS[variant], "scale": 0.5}
    )
    krona = layer.krona
    lokr = kron_family.peft_lokr_same(frozen_linear(48), krona)
    with torch.no_grad():
        lokr.base_layer.load_state_dict(layer.state_dict(), strict=False)
    assert sum(p.numel() for n, p in lokr.named_parameters() if "lokr" in n) == sum(
        p.numel() for p in krona.parameters()
    )
    x = torch.randn(4, 10, 48)
    assert krona.fuses(layer, x)
    torch.testing.assert_close(lokr(x), layer(x), rtol=1e-5, atol=1e-6)
    assert not torch.allclose(layer(x), torch.nn.functional.linear(x, layer.weight, layer.bias))


def test_every_method_on_the_kronecker_layer_has_rows():
    methods = kron_family.family_methods()
    assert {"krona", "lokr"} <= set(methods)
    rows = kron_family.family_rows()
    assert {method for method, _ in rows} == set(methods)
    assert [v for m, v in rows if m == "krona"] == list(kron_family.VARIANTS)


@pytest.mark.parametrize(("method", "variant"), [("krona", "terms2_rank4")] + [
    (m, v) for m, v in kron_family.family_rows() if m != "krona"
])  # fmt: skip
def test_family_rows_run(method, variant):
    """One row end to end on a small layer (2 rounds): the columns the table lists are filled."""
    row = kron_family.measure_variant(
        48, ((8, 6), (6, 8)), method, variant, (2, 8), 2, torch.device("cpu"), frozen_linear
    )
    assert set(kron_family.COLUMNS) <= set(row)
    assert row["method"] == method and row["params"] > 0
    if (method, variant) == ("krona", "terms2_rank4"):
        assert row["params"] == 2 * (8 * 6 + 4 * (6 + 8)) and row["krona_fused"] and row["same_as_lokr"]
    if method == "lokr":
        assert row["same_as_lokr"], "LoKr is PEFT LoKr"
