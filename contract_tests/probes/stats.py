"""Two-sample statistics of the timing probe (SEC-07), in the standard library only.

* :func:`mann_whitney_u`: the Mann-Whitney U test (two-sided), normal approximation with tie correction and
  continuity correction -- what R's ``wilcox.test(exact=FALSE, correct=TRUE)`` and SciPy's
  ``mannwhitneyu(method="asymptotic")`` compute.  Response times are skewed and outlier-prone, so a rank test
  rather than a t-test.
* :func:`shift_interval`: the Hodges-Lehmann estimate of the shift between the two samples and its
  distribution-free (Moses) confidence interval, from the same ranks.
* :func:`compare_timings`: the verdict rule.  ``failed`` needs a significant test *and* a difference of medians of
  at least the practical threshold; ``passed`` needs the confidence interval of the shift to lie inside
  +-threshold -- i.e. the samples were precise enough that a shift of the threshold would have been seen;
  anything else is ``inconclusive`` (typically: a noisy network).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

_NORMAL = statistics.NormalDist()


def _ranks(values: Sequence[float]) -> tuple[list[float], float]:
    """Average ranks (1-based) and the tie term sum(t^3 - t) over groups of tied values."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties = 0.0
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    return ranks, ties


@dataclass(frozen=True)
class UTest:
    u: float  # U statistic of the first sample
    z: float
    p: float  # two-sided


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> UTest:
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need at least one value")
    ranks, ties = _ranks([*x, *y])
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    mean = n1 * n2 / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:  # every value tied: no evidence of any difference
        return UTest(u, 0.0, 1.0)
    z = max(abs(u - mean) - 0.5, 0.0) / math.sqrt(variance)
    p = min(1.0, math.erfc(z / math.sqrt(2)))
    return UTest(u, math.copysign(z, u - mean), p)


@dataclass(frozen=True)
class Shift:
    estimate: float  # Hodges-Lehmann: median of all pairwise differences x_i - y_j
    low: float  # confidence interval (may be infinite when the samples are too small)
    high: float
    confidence: float


def shift_interval(x: Sequence[float], y: Sequence[float], confidence: float = 0.95) -> Shift:
    diffs = sorted(a - b for a in x for b in y)
    m = len(diffs)
    z = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    n1, n2 = len(x), len(y)
    k = math.floor(n1 * n2 / 2 - z * math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))
    if k < 0:
        low, high = -math.inf, math.inf
    else:
        low, high = diffs[k], diffs[m - 1 - k]
    return Shift(statistics.median(diffs), low, high, confidence)


@dataclass(frozen=True)
class TimingComparison:
    verdict: str  # "passed" | "failed" | "inconclusive"
    median_x: float
    median_y: float
    difference: float  # median_x - median_y
    test: UTest
    shift: Shift
    threshold: float
    alpha: float
    n_x: int
    n_y: int
    why: str

    def describe(self, x_label: str, y_label: str, unit: float = 1000.0, unit_name: str = "ms") -> str:
        def f(v: float, sign: bool = False) -> str:
            if math.isinf(v):
                return "-inf" if v < 0 else "+inf"
            return f"{v * unit:+.1f}" if sign else f"{v * unit:.1f}"

        p = "< 0.0001" if self.test.p < 0.0001 else f"= {self.test.p:.4f}"
        return (
            f"median {x_label} {f(self.median_x)} {unit_name} vs {y_label} {f(self.median_y)} {unit_name}: "
            f"difference {f(self.difference, True)} {unit_name}, p {p} (Mann-Whitney U, alpha {self.alpha:g}, "
            f"n={self.n_x}+{self.n_y}); Hodges-Lehmann shift {f(self.shift.estimate, True)} {unit_name}, "
            f"{self.shift.confidence:.0%} CI {f(self.shift.low, True)} .. {f(self.shift.high, True)} {unit_name}; "
            f"practical threshold {f(self.threshold)} {unit_name}: {self.why}"
        )


def compare_timings(
    x: Sequence[float],
    y: Sequence[float],
    *,
    threshold: float,
    alpha: float = 0.01,
    confidence: float = 0.95,
) -> TimingComparison:
    """Judge whether samples *x* and *y* (seconds) differ by a practically relevant amount."""
    test = mann_whitney_u(x, y)
    shift = shift_interval(x, y, confidence)
    mx, my = statistics.median(x), statistics.median(y)
    diff = mx - my
    significant = test.p < alpha
    if significant and abs(diff) >= threshold:
        verdict, why = "failed", "significant and at least the threshold"
    elif -threshold < shift.low and shift.high < threshold:
        verdict = "passed"
        why = ("a real but practically irrelevant difference" if significant else "no significant difference") + (
            f"; the {confidence:.0%} CI of the shift lies within +-threshold"
        )
    elif significant:
        verdict, why = "inconclusive", "significant, but the samples cannot tell whether it reaches the threshold"
    elif abs(diff) >= threshold:
        verdict, why = "inconclusive", "a difference of at least the threshold, but not significant (too noisy)"
    else:
        verdict, why = "inconclusive", (
            "no significant difference, but too noisy to rule out one of the threshold "
            "(more samples or a quieter network would decide)"
        )
    return TimingComparison(verdict, mx, my, diff, test, shift, threshold, alpha, len(x), len(y), why)
