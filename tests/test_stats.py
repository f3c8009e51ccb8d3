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
