"""Paired claim verdicts on synthetic per-seed scores: every verdict is reachable, and it follows the pairing."""

from __future__ import annotations

import pytest

from src.study.claims import (
    AGREE,
    DISAGREE,
    OPPOSITE,
    SAME,
    UNRESOLVED,
    bootstrap_interval,
    both_learned,
    learned_seeds,
    paired_differences,
    parity_verdict,
    verdict,
)

SEEDS = [1, 2, 3, 4, 5]


def scores(values: list[float]) -> dict[int, float]:
    return dict(zip(SEEDS, values, strict=True))


def test_a_consistent_gain_is_the_same_ordering():
    better = scores([0.80, 0.82, 0.79, 0.81, 0.83])
    worse = scores([0.75, 0.78, 0.76, 0.75, 0.79])
    result, (low, high) = verdict(paired_differences(better, worse))
    assert result == SAME and 0 < low <= high


def test_a_consistent_loss_is_opposite():
    better = scores([0.70, 0.72, 0.69, 0.71, 0.73])
    worse = scores([0.75, 0.78, 0.76, 0.75, 0.79])
    result, (low, high) = verdict(paired_differences(better, worse))
    assert result == OPPOSITE and low <= high < 0


def test_differences_of_both_signs_are_not_resolved():
    better = scores([0.80, 0.70, 0.78, 0.71, 0.79])
    worse = scores([0.75, 0.76, 0.74, 0.77, 0.75])
    result, (low, high) = verdict(paired_differences(better, worse))
    assert result == UNRESOLVED and low < 0 < high


def test_a_small_loss_the_bootstrap_alone_would_call_is_not_resolved():
    """AdaKron - Pfeiffer on SST-2 (cpu plan, seeds 1-5): the percentile bootstrap of these five differences
    lies below zero, the paired t interval does not; five seeds cannot decide it."""
    differences = [0.0, -1.2615, -0.3440, -0.2294, -1.7202]
    assert bootstrap_interval(differences)[1] < 0
    result, (low, high) = verdict(differences)
    assert result == UNRESOLVED and low < 0 < high


def test_pairing_matters_not_the_two_means():
    """Seed-to-seed spread larger than the gain, but the gain on every seed: paired, it is resolved."""
    worse = scores([0.60, 0.70, 0.80, 0.65, 0.75])
    better = {seed: value + 0.01 for seed, value in worse.items()}
    assert verdict(paired_differences(better, worse))[0] == SAME


def test_only_shared_seeds_are_paired_and_too_few_are_not_resolved():
    assert paired_differences({1: 0.9, 2: 0.8, 7: 0.1}, {2: 0.5, 1: 0.4, 3: 0.0}) == pytest.approx([0.5, 0.3])
    assert verdict([0.5, 0.3]) == (UNRESOLVED, None)


def test_identical_differences_give_a_point_interval():
    assert verdict([0.02, 0.02, 0.02]) == (SAME, (0.02, 0.02))


def test_parity_agrees_inside_the_spread_and_differs_outside_it():
    noise = [0.004, -0.003, 0.002, -0.004, 0.001]
    assert parity_verdict(noise, spread=0.01)[0] == AGREE
    assert parity_verdict([d + 0.05 for d in noise], spread=0.01)[0] == DISAGREE
    assert parity_verdict(noise[:2], spread=0.01) == (UNRESOLVED, None)


def test_only_seeds_where_both_runs_learned_are_paired():
    """STS-B, seeds 1-5 (Pearson x100): LoRA stayed at a constant prediction on four seeds. Pairing every
    seed would call "KronA above LoRA" from runs that did not learn; only seed 3 is comparable."""
    krona = {1: 78.17, 2: 77.19, 3: 75.31, 4: 74.14, 5: 78.30}
    lora = {1: 2.47, 2: 1.00, 3: 57.08, 4: 0.91, 5: 5.76}
    assert verdict(paired_differences(krona, lora))[0] == SAME  # what the table said before
    pair = both_learned(krona, lora, trivial=None)
    assert pair == ({3: 75.31}, {3: 57.08})
    assert verdict(paired_differences(*pair))[0] == UNRESOLVED
    assert learned_seeds({1: 60.9, 2: 60.8}, trivial=50.9) == {1}  # 10 points above the majority class
