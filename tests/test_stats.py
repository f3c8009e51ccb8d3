import numpy as np
import pytest
from scipy.stats import binomtest

from mcirl.stats import clopper_pearson, clopper_pearson_lower, clopper_pearson_upper


@pytest.mark.parametrize("x, n", [(0, 10), (3, 10), (10, 10), (1, 1000), (500, 1000)])
def test_clopper_pearson_matches_scipy(x, n):
    lo, hi = clopper_pearson(x, n)
    ci = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
    assert lo == pytest.approx(ci.low, abs=1e-12)
    assert hi == pytest.approx(ci.high, abs=1e-12)


def test_vectorised_and_one_sided():
    lo, hi = clopper_pearson(np.array([0, 5, 20]), 20)
    assert lo[0] == 0 and hi[-1] == 1 and (lo <= hi).all()
    assert clopper_pearson_upper(0, 20, 0.95) == pytest.approx(1 - 0.05 ** (1 / 20))
    assert clopper_pearson_lower(20, 20, 0.95) == pytest.approx(0.05 ** (1 / 20))


def test_sample_complexity_reads_the_curve():
    from mcirl.stats import sample_complexity

    m = [1, 4, 16, 64, 256]
    sc = sample_complexity(m, [100, 90, 3, 0, 0], 100, delta=0.05)
    assert (sc.status, sc.m_star, sc.cap) == ("found", 16, 256)
    assert sc.m_lo == 4 and sc.m_hi == 64  # CP upper at 3/100 is 0.085 > 0.05; at 0/100, 0.036
    # a rate that dips below delta and rises again: m* is where it stays below
    assert sample_complexity(m, [100, 2, 50, 0, 0], 100, 0.05).m_star == 64
    above = sample_complexity(m, [100, 90, 60, 30, 20], 100, 0.05)
    assert above.status == "above_cap" and above.m_star is None and above.m_hi is None
    assert above.m_lo == 256  # still confidently failing at the cap
    below = sample_complexity(m, [0, 0, 0, 0, 0], 100, 0.05)
    assert below.status == "below_min" and below.m_star == 1 and below.m_lo is None
    shuffled = sample_complexity(m[::-1], [0, 0, 3, 90, 100], 100, 0.05)
    assert shuffled == sample_complexity(m, [100, 90, 3, 0, 0], 100, 0.05)


def test_the_bootstrap_band_of_a_weighted_mean_over_groups():
    from mcirl.stats import bootstrap_mean_band

    weights = np.array([[10.0, 5, 0], [30.0, 5, 0], [20.0, 5, 0]])
    values = np.array([[0.9, 1.0, np.nan], [0.8, 1.0, np.nan], [0.6, 1.0, np.nan]])
    low, high = bootstrap_mean_band(weights, values, draws=2000)
    pooled = (weights[:, 0] * values[:, 0]).sum() / weights[:, 0].sum()
    assert 0.6 <= low[0] < pooled < high[0] <= 0.9  # inside the groups' range, around the pooled mean
    assert low[1] == high[1] == 1.0  # groups that agree: no spread to show
    assert np.isnan(low[2]) and np.isnan(high[2])  # no weight at all: no band
    # a resampled group keeps its weight: the band is not that of the unweighted mean
    lopsided = bootstrap_mean_band(np.array([[1000.0], [1.0]]), np.array([[1.0], [0.0]]), draws=2000)
    assert np.quantile([1.0], 0.5) >= lopsided[1][0] >= 0.99
