"""The statistics behind verdicts, against independent references (scipy's own tests, Wilson
bounds and Holm's example worked by hand) and simulated experiments with a known truth."""

import math

import numpy as np
import pytest
from scipy import stats as st

from lenet_core import stats
from lenet_core.experiments import verdicts

RNG_SEED = 20261127


def _samples(rng, n_a=5, n_b=7):
    return rng.normal(0.85, 0.01, n_a), rng.normal(0.84, 0.02, n_b)


def test_welch_matches_scipys_ttest_ind():
    rng = np.random.default_rng(RNG_SEED)
    for _ in range(20):
        a, b = _samples(rng, int(rng.integers(2, 9)), int(rng.integers(2, 9)))
        ours, ref = stats.welch(a, b), st.ttest_ind(a, b, equal_var=False)
        assert ours.p == pytest.approx(ref.pvalue, rel=1e-9)
        assert ours.interval(0.95) == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-9)
        assert ours.df == pytest.approx(ref.df, rel=1e-9)


def test_paired_matches_scipys_ttest_rel():
    rng = np.random.default_rng(RNG_SEED + 1)
    for _ in range(20):
        a, b = _samples(rng, 6, 6)
        ours, ref = stats.paired(a, b), st.ttest_rel(a, b)
        assert ours.p == pytest.approx(ref.pvalue, rel=1e-9)
        assert ours.interval(0.9) == pytest.approx(tuple(ref.confidence_interval(0.9)), rel=1e-9)


def test_one_value_on_a_side_is_no_test():
    assert stats.welch([0.9], [0.8, 0.81]) is None and stats.paired([0.9], [0.8]) is None
    (c,) = stats.decide([stats.Sample([0.9], [0.1, 0.1])])
    assert c.word == "too few seeds" and c.diff is None


def test_holm_on_the_textbook_example():
    # Holm (1979) as Wikipedia works it: p = 0.01, 0.04, 0.03, 0.005 at alpha 0.05 rejects
    # H1 and H4 only. By hand: 4 x 0.005 = 0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, then
    # max(1 x 0.04, 0.06) = 0.06.
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert [p < 0.05 for p in adjusted] == [True, False, False, True]
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_wilson_bounds_worked_by_hand():
    z2 = 1.959963984540054 ** 2
    # 0 of 10: the upper bound is z^2/n / (1 + z^2/n).
    assert stats.wilson(0, 10) == pytest.approx((0.0, (z2 / 10) / (1 + z2 / 10)))
    # 3 of 3: centre (1 + z^2/6) / (1 + z^2/3), half-width z/(1 + z^2/3) * z/6.
    centre, half = (1 + z2 / 6) / (1 + z2 / 3), math.sqrt(z2) / (1 + z2 / 3) * math.sqrt(z2) / 6
    assert stats.wilson(3, 3) == pytest.approx((centre - half, 1.0))
    assert stats.wilson(3, 3)[0] == pytest.approx(0.4385, abs=1e-4)
    assert stats.wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_tost_is_two_one_sided_welch_tests():
    rng = np.random.default_rng(RNG_SEED + 2)
    margin = stats.ACCURACY_MARGIN
    for _ in range(10):
        a, b = rng.normal(0.85, 0.002, 8), rng.normal(0.851, 0.002, 8)
        lower = st.ttest_ind(a + margin, b, equal_var=False, alternative="greater").pvalue
        upper = st.ttest_ind(a - margin, b, equal_var=False, alternative="less").pvalue
        assert stats.welch(a, b).tost_p(margin) == pytest.approx(max(lower, upper), rel=1e-9)


def test_the_adjusted_interval_excludes_zero_exactly_when_holm_rejects():
    rng = np.random.default_rng(RNG_SEED + 3)
    for _ in range(200):
        samples = [stats.Sample(rng.normal(0.85 + d, 0.01, 4), rng.normal(0.85, 0.01, 4))
                   for d in rng.choice([0.0, 0.01, 0.02], 4)]
        for c in stats.decide(samples):
            excludes = c.low > 0 or c.high < 0
            assert excludes == (c.p_holm < stats.ALPHA) == (c.word in ("higher", "lower"))
            assert c.low <= c.diff <= c.high


def test_the_resolvable_difference_has_about_80_percent_power():
    for n in (3, 5, 10):
        effect = stats.planned_resolvable(1.0, n)
        df, crit = 2 * n - 2, st.t.ppf(0.975, 2 * n - 2)
        nc = effect / math.sqrt(2 / n)  # the exact power, from the noncentral t
        power = st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc)
        assert 0.77 <= power <= 0.81, (n, power)
    assert stats.seeds_needed(stats.planned_resolvable(1.0, 7), 1.0) == 7
    assert stats.planned_resolvable(1.0, 5, comparisons=4) > stats.planned_resolvable(1.0, 5)


def _experiment(rng, arms: int, seeds: int, shift: float, paired: bool):
    """One simulated experiment: `arms` variants against the first, each value noise of sd 1
    around its arm's mean (the last arm shifted by `shift`), through verdicts.decide."""
    labels = [f"v{k}" for k in range(arms)]
    common = rng.normal(0, 0.7, seeds) if paired else 0  # what a shared seed puts in every arm
    values = {}
    for k, label in enumerate(labels):
        mean = shift if k == arms - 1 else 0.0
        noise = common + rng.normal(0, 0.7 if paired else 1, seeds)
        values[(label, "test_acc")] = dict(enumerate(mean + noise))
    declared = [(label, labels[0], "test_acc") for label in labels[1:]]
    return verdicts.decide(declared, values, lambda a, b: paired)


@pytest.mark.parametrize("arms,seeds,paired", [(4, 3, False), (6, 5, True), (2, 10, False)])
def test_identical_arms_get_higher_or_lower_in_at_most_5_percent_of_experiments(
        arms, seeds, paired):
    rng = np.random.default_rng(RNG_SEED + arms)
    runs = 1500
    called = sum(any(c.result.word in ("higher", "lower") for c in
                     _experiment(rng, arms, seeds, 0.0, paired)) for _ in range(runs))
    assert called / runs <= 0.05, called / runs


def test_a_difference_of_two_standard_deviations_is_found_at_10_seeds():
    rng = np.random.default_rng(RNG_SEED)
    runs = 1000
    found = sum(_experiment(rng, 3, 10, 2.0, False)[-1].result.word == "higher"
                for _ in range(runs))
    assert found / runs >= 0.9, found / runs
