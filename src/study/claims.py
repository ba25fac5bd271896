"""The papers' claims as paired comparisons over the same seeds, and the PEFT parity check.

A claim says method ``better`` scores above method ``worse``. For every seed both ran, the difference
better - worse is taken (same seed: same data order, same head initialisation). The verdict rests on
the 95% confidence interval of the mean difference: the wider of the percentile bootstrap
(``scipy.stats.bootstrap``, fixed random state) and the paired Student-t interval. "same ordering" when
it lies above zero, "opposite" when it lies below, "not resolved at this budget" when it contains zero
(or fewer than 3 seeds are shared). Only seeds where both runs learned (10+ points above the trivial
predictor) are paired: on STS-B at 125 steps LoRA stayed at a constant prediction on 4 of 5 seeds, and
pairing those runs called "KronA above LoRA" by 63 points. With 5 seeds the percentile bootstrap alone
is too narrow (its resamples hold at most 5 distinct values; it covers well below 95%): on SST-2 it
called a -0.7 point difference with one tied seed "opposite" where the t interval, -1.6 to 0.2, does not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import stats

SAME, OPPOSITE, UNRESOLVED = "same ordering", "opposite", "not resolved at this budget"
# A run "learned" when it scores this many points (x100) above the trivial predictor: the majority class, or
# 0 for a correlation (a constant prediction). Issue 11's yardstick for "leaves the majority class".
LEARNED_MARGIN = 10.0
AGREE, DISAGREE = "agree within seed noise", "differ"
MIN_SEEDS = 3
CONFIDENCE = 0.95


def paired_differences(a: Mapping[int, float], b: Mapping[int, float]) -> list[float]:
    """a[seed] - b[seed] over the seeds both have, in seed order."""
    return [a[seed] - b[seed] for seed in sorted(a.keys() & b.keys())]


def learned_seeds(scores: Mapping[int, float], trivial: float | None) -> set[int]:
    """The seeds whose run scored at least LEARNED_MARGIN above the trivial predictor (0 when None)."""
    return {seed for seed, score in scores.items() if score >= (trivial or 0.0) + LEARNED_MARGIN}


def both_learned(a: Mapping[int, float], b: Mapping[int, float], trivial: float | None):
    """a and b restricted to the seeds where both runs learned: comparing a run that learned with one that
    stayed at the trivial predictor says which escaped it, not which method fits the task better."""
    keep = learned_seeds(a, trivial) & learned_seeds(b, trivial)
    return {s: a[s] for s in keep}, {s: b[s] for s in keep}


def bootstrap_interval(differences: list[float]) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of paired differences."""
    if len(set(differences)) == 1:  # no spread: every resample has the same mean
        return differences[0], differences[0]
    result = stats.bootstrap(
        (np.asarray(differences),),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=9999,
        method="percentile",
        random_state=0,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def t_interval(differences: list[float]) -> tuple[float, float]:
    """95% Student-t interval of the mean of paired differences."""
    if len(set(differences)) == 1:
        return differences[0], differences[0]
    interval = stats.ttest_1samp(differences, 0.0).confidence_interval(CONFIDENCE)
    return float(interval.low), float(interval.high)


def claim_interval(differences: list[float]) -> tuple[float, float]:
    """The wider of the bootstrap and t intervals: a claim is decided only when both exclude zero."""
    (boot_low, boot_high), (t_low, t_high) = bootstrap_interval(differences), t_interval(differences)
    return min(boot_low, t_low), max(boot_high, t_high)


def verdict(differences: list[float]) -> tuple[str, tuple[float, float] | None]:
    """The verdict on "better > worse" from better - worse per seed, and the interval it rests on."""
    if len(differences) < MIN_SEEDS:
        return UNRESOLVED, None
    low, high = claim_interval(differences)
    if low > 0:
        return SAME, (low, high)
    if high < 0:
        return OPPOSITE, (low, high)
    return UNRESOLVED, (low, high)


def parity_verdict(differences: list[float], spread: float) -> tuple[str, tuple[float, float] | None]:
    """PEFT parity: the two implementations agree when the interval of their paired difference contains
    zero and the mean difference is within ``spread`` (the kronlab row's interquartile range over seeds)."""
    if len(differences) < MIN_SEEDS:
        return UNRESOLVED, None
    low, high = bootstrap_interval(differences)
    agrees = low <= 0 <= high and abs(float(np.mean(differences))) <= spread
    return (AGREE if agrees else DISAGREE), (low, high)
