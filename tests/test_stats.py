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
