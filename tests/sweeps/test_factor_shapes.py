"""``python -m sweeps.factor_shapes``: every printed pair is valid for the layer, and Hydra can sweep it."""

from __future__ import annotations

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from src.adapters.kron import kron_shape, valid_factor_shapes
from sweeps.factor_shapes import PAPER_TABLE_9, factor_shapes, main


def swept_pairs(override: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    [parsed] = OverridesParser.create().parse_overrides([override])
    assert parsed.key_or_group == "kron_shapes"
    return [(tuple(a), tuple(b)) for a, b in parsed.sweep_iterator()]


def test_every_valid_shape_for_a_rectangular_layer(capsys):
    main(["12", "--d-in", "8"])
    pairs = swept_pairs(capsys.readouterr().out.strip())
    assert sorted(pairs) == sorted(valid_factor_shapes(12, 8))
    assert all(kron_shape(a, b) == (12, 8) for a, b in pairs)
    params = [a[0] * a[1] + b[0] * b[1] for a, b in pairs]
    assert params == sorted(params)  # fewest parameters first


def test_square_limit_and_min_side(capsys):
    main(["48", "--square", "--min-side", "2", "--limit", "3"])
    pairs = swept_pairs(capsys.readouterr().out.strip())
    assert len(pairs) == 3
    assert all(b == a[::-1] and min(*a, *b) >= 2 and kron_shape(a, b) == (48, 48) for a, b in pairs)


def test_paper_table_9(capsys):
    main(["--paper"])
    assert swept_pairs(capsys.readouterr().out.strip()) == [(a, a[::-1]) for a in PAPER_TABLE_9]


def test_impossible_requests_say_what_to_change():
    with pytest.raises(ValueError, match="--square needs d_out = d_in"):
        factor_shapes(12, 8, square=True)
    with pytest.raises(SystemExit):
        main([])


def test_the_shape_study_holds_every_pair_near_the_budget_and_nothing_else():
    from omegaconf import OmegaConf

    from src.config import CONF_DIR
    from sweeps.factor_shapes import parameters, row_name

    rows = OmegaConf.load(CONF_DIR / "study" / "cpu_shapes.yaml").rows
    expected = [pair for pair in valid_factor_shapes(384, 384) if abs(parameters(pair) - 3072) <= 0.25 * 3072]
    assert len(expected) == 34
    assert sorted(rows) == sorted(row_name(pair) for pair in expected)
    for pair in expected:
        row = rows[row_name(pair)]
        (a1, a2), (b1, b2) = pair
        assert list(row.overrides) == [f"adapter.a_shape=[{a1},{a2}]", f"adapter.b_shape=[{b1},{b2}]"]
        assert row.get("lr_from") in (None, "a64x48_b6x8")
    searched = sorted(name for name, row in rows.items() if row.get("lr_from") is None)
    assert searched == ["a384x8_b1x48", "a64x48_b6x8", "a8x8_b48x48"]
