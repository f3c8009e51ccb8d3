import numba as nb
import numpy as np
import pytest

from mcirl.kernels.binomial import binomial, stirling_tail
from mcirl.kernels.rng import TESTING, stream_key
from tests.stats_checks import P_MIN, binomial_gof_pvalue

pytestmark = pytest.mark.statistical


@nb.njit
def draws(n, p, seed, size):
    key = stream_key(seed, TESTING, 2, 0, 0)
    out = np.empty(size, np.int64)
    counter = 0
    for i in range(size):
        out[i], counter = binomial(n, p, key, counter)
    return out


CASES = [  # (n, p): inversion, BTRS, p > 1/2 by symmetry, huge n in both regimes
    (1, 0.3), (7, 0.5), (20, 0.02), (100, 0.05), (50, 0.3), (1000, 0.5), (12345, 0.9),
    (10**6, 1e-6), (10**9, 0.25), (10**11, 0.3), (10**11, 3e-11), (2 * 10**10, 0.999),
]


@pytest.mark.parametrize("n, p", CASES)
def test_matches_binomial_law(n, p):
    x = draws(n, p, 17, 100_000)
    assert x.min() >= 0 and x.max() <= n
    assert binomial_gof_pvalue(x, n, p) > P_MIN


@pytest.mark.parametrize("n, p, wrong", [(50, 0.3, 0.305), (10**11, 0.3, 0.3 + 2e-7),
                                         (20, 0.02, 0.025)])
def test_check_has_power_against_a_planted_bias(n, p, wrong):
    """The same test rejects draws from a slightly wrong p: the check above can fail."""
    assert binomial_gof_pvalue(draws(n, wrong, 17, 100_000), n, p) < P_MIN


def test_edges_and_determinism():
    key = stream_key(1, TESTING, 0, 0, 0)
    assert binomial(0, 0.5, key, 0) == (0, 0)
    assert binomial(10, 0.0, key, 0) == (0, 0)
    assert binomial(10, 1.0, key, 0) == (10, 0)
    np.testing.assert_array_equal(draws(10**9, 0.25, 3, 50), draws(10**9, 0.25, 3, 50))


def test_stirling_tail_small_and_series_agree_with_lgamma():
    import math

    for k in (0.0, 5.0, 9.0, 10.0, 11.0, 30.0):  # lgamma is accurate enough here
        exact = math.lgamma(k + 1) - ((k + 0.5) * math.log(k + 1) - (k + 1) + 0.5 * math.log(2 * math.pi))
        assert stirling_tail(k) == pytest.approx(exact, rel=1e-11)
    assert stirling_tail(1e6) == pytest.approx(1 / (12 * (1e6 + 1)), rel=1e-11)


def test_tiny_p_ends_and_keeps_the_law(tmp_path):
    """Below p ~ 1e-19 an inversion gap, log(u) / log(1 - p), can pass 2^63: it used to be rounded
    to int64 first, wrapped round to a negative number and never ended the loop (sparse Dirichlet
    rows have such p). Drawn in a child process, so that a regression fails instead of hanging
    the suite; n = 1e18 at p = 1e-18 passes 2^63 in about 1e-4 of its gaps."""
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "x.npy"
    code = ("import numpy as np; from tests.kernels.test_binomial import draws; "
            f"np.save({str(out)!r}, np.stack([draws(n, p, 5, 100_000) for n, p in "
            "((10**18, 1e-18), (1, 1e-300), (10**11, 1e-25), (3, 5e-324))]))")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600,
                   cwd=Path(__file__).parents[2])
    x = np.load(out)
    assert binomial_gof_pvalue(x[0], 10**18, 1e-18) > P_MIN
    assert not x[1:].any()  # n p <= 1e-14: a non-zero draw is a one-in-1e9 event
