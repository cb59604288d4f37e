"""What a difference over seeds can say: tests, intervals and words for experiment verdicts.

The rule, stated once. An experiment names its comparisons before it runs (each variant
against a baseline, or the pairs its question asks). Each comparison of a quantity, "a against
b", reports the difference of means a - b with a 95 % confidence interval and a two-sided
p-value from Student's t:
- paired by seed when both arms share each seed's data order and initial weights (the caller
  decides; the same seeds on both sides), Welch's unequal-variance test otherwise;
- the p-values of all the experiment's comparisons are Holm-corrected together, and the
  interval reported is the (1 - alpha * p / p_holm) interval, which excludes 0 exactly when the
  corrected p is below alpha = 0.05;
- the word comes from that interval: "higher" or "lower" when it excludes 0; "equivalent"
  (within +-margin, 0.5 points for accuracies) when two one-sided tests (TOST), Holm-corrected
  over the experiment's comparisons in the same way, both reject a difference of margin or
  more; otherwise "inconclusive";
- with every word comes the difference the seeds can resolve: the true difference the test
  would detect with 80 % power at the experiment's strictest Holm level alpha / m, about
  (t(1 - alpha / 2m) + t(0.8)) x the standard error;
- an arm with fewer than 2 values (2 pairs when paired) gets "too few seeds" and no test.
A rate (runs that learned, runs that reached a target) is given with its 95 % Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri, stdtr, stdtrit

ALPHA = 0.05
POWER = 0.8
ACCURACY_MARGIN = 0.005  # +-0.5 points: an accuracy difference this small is "equivalent"
WORDS = ("higher", "lower", "equivalent", "inconclusive", "too few seeds")


@dataclass(frozen=True)
class TTest:
    """A difference of means a - b with its standard error and degrees of freedom."""

    diff: float
    se: float
    df: float
    method: str  # "paired" or "welch"
    n_a: int
    n_b: int

    @property
    def p(self) -> float:
        """Two-sided p-value for a difference of 0."""
        if self.se == 0:
            return 1.0 if self.diff == 0 else 0.0
        return float(2 * stdtr(self.df, -abs(self.diff) / self.se))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        half = 0.0 if self.se == 0 else float(stdtrit(self.df, 0.5 + level / 2)) * self.se
        return self.diff - half, self.diff + half

    def tost_p(self, margin: float) -> float:
        """The larger p of the two one-sided tests of |a - b| >= margin: below alpha means
        the difference lies within +-margin."""
        if self.se == 0:
            return 0.0 if abs(self.diff) < margin else 1.0
        above = stdtr(self.df, -(self.diff + margin) / self.se)  # H0: a - b <= -margin
        below = stdtr(self.df, (self.diff - margin) / self.se)  # H0: a - b >= margin
        return float(max(above, below))

    def resolvable(self, alpha: float = ALPHA, power: float = POWER) -> float:
        """The true difference this test detects with probability `power` at level alpha."""
        return _quantiles(alpha, power, self.df) * self.se


def _quantiles(alpha: float, power: float, df: float) -> float:
    return float(stdtrit(df, 1 - alpha / 2) + stdtrit(df, power))


def welch(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """Welch's t for mean(a) - mean(b); None with fewer than 2 values on a side."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return None
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    # Welch-Satterthwaite; with no spread at all the df do not matter (se = 0).
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se else 1.0
    return TTest(float(a.mean() - b.mean()), se, float(df), "welch", len(a), len(b))


def paired(a: Sequence[float], b: Sequence[float]) -> TTest | None:
    """The paired t for mean(a - b) over pairs (a[i], b[i]); None with fewer than 2 pairs."""
    d = np.asarray(a, float) - np.asarray(b, float)
    if len(d) < 2:
        return None
    return TTest(float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))), len(d) - 1.0,
                 "paired", len(d), len(d))


def holm(ps: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the given order."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        adjusted[i] = running
    return adjusted


def wilson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval for a rate of k successes in n trials ((0, 1) when n = 0)."""
    if n == 0:
        return 0.0, 1.0
    z = float(ndtri(0.5 + level / 2))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Comparison:
    """One declared comparison "a against b", decided under the rule above."""

    diff: float | None  # mean(a) - mean(b)
    low: float | None  # the Holm-consistent interval
    high: float | None
    p: float | None  # raw two-sided p
    p_holm: float | None
    word: str  # one of WORDS
    method: str | None  # "paired" or "welch"
    resolvable: float | None  # the difference these seeds resolve (80 % power, alpha / m)
    n_a: int
    n_b: int


@dataclass(frozen=True)
class Sample:
    """The values of one comparison's two arms. Paired values are in the same seed order."""

    a: Sequence[float]
    b: Sequence[float]
    paired: bool = False
    margin: float | None = ACCURACY_MARGIN  # None: no equivalence claim for this quantity


def decide(samples: Sequence[Sample], alpha: float = ALPHA) -> list[Comparison]:
    """Every comparison of one experiment, tested, Holm-corrected together and put in words."""
    tests = [(paired if s.paired else welch)(s.a, s.b) for s in samples]
    done = [k for k, t in enumerate(tests) if t is not None]
    m = len(done)
    p_holm = dict(zip(done, holm([tests[k].p for k in done]), strict=True))
    equivalent = [k for k in done if samples[k].margin is not None]
    tost_holm = dict(zip(equivalent, holm([tests[k].tost_p(samples[k].margin)
                                           for k in equivalent]), strict=True))
    out = []
    for k, (s, t) in enumerate(zip(samples, tests, strict=True)):
        if t is None:
            out.append(Comparison(None, None, None, None, None, "too few seeds", None, None,
                                  len(s.a), len(s.b)))
            continue
        p, ph = t.p, p_holm[k]
        level_alpha = alpha / m if p == 0 or ph == 0 else min(alpha, alpha * p / ph)
        low, high = t.interval(1 - level_alpha)
        word = ("higher" if t.diff > 0 else "lower") if ph < alpha else \
            "equivalent" if tost_holm.get(k, 1.0) < alpha else "inconclusive"
        out.append(Comparison(t.diff, low, high, p, ph, word, t.method,
                              t.resolvable(alpha / m), t.n_a, t.n_b))
    return out


def planned_resolvable(sd: float, n: int, comparisons: int = 1, alpha: float = ALPHA,
                       power: float = POWER) -> float:
    """The difference n seeds per arm resolve for a quantity whose spread over seeds is `sd`
    (equal spreads, an unpaired test, at the strictest Holm level of `comparisons`)."""
    return _quantiles(alpha / comparisons, power, 2 * n - 2) * sd * math.sqrt(2 / n)


def seeds_needed(effect: float, sd: float, comparisons: int = 1, alpha: float = ALPHA,
                 power: float = POWER, most: int = 100) -> int:
    """The fewest seeds per arm whose planned_resolvable is at most `effect`."""
    return next((n for n in range(2, most + 1)
                 if planned_resolvable(sd, n, comparisons, alpha, power) <= effect), most)


def p_text(p: float) -> str:
    return "< 0.0001" if p < 1e-4 else f"{p:.2g}"
