import math

import numpy as np
import pytest

from mcirl import bounds


def test_seed_table_matches_design():
    table = bounds.seed_table([10, 1000], [0.9, 0.99], eps=0.1, delta=0.05)
    expected = np.array([[1.198e6, 2.119e8], [1.198e8, 2.119e10]])
    np.testing.assert_allclose(table, expected, rtol=5e-4)
    assert [f"{x:.4g}" for x in table.ravel()] == ["1.198e+06", "2.119e+08", "1.198e+08", "2.119e+10"]
    assert table[0, 1] / table[0, 0] == pytest.approx(176.9, abs=0.05)


def test_abbeel_ng_closed_form_and_done_when_value():
    k, g, e, d = 16, 0.95, 1.0, 0.05
    assert bounds.abbeel_ng_trajectories(k, g, e, d) == pytest.approx(
        2 * k / (e * (1 - g)) ** 2 * math.log(2 * k / d), rel=1e-14)
    assert math.ceil(bounds.abbeel_ng_trajectories(k, g, e, d)) == 82707


def test_abbeel_ng_monotone():
    base = dict(k=10, gamma=0.9, eps=0.1, delta=0.05)
    m = bounds.abbeel_ng_trajectories(**base)
    for key, bigger in (("k", 11), ("gamma", 0.91), ("eps", 0.09), ("delta", 0.04)):
        assert bounds.abbeel_ng_trajectories(**{**base, key: bigger}) > m


@pytest.mark.parametrize("k, gamma, eps", [(16, 0.95, 1.0), (1000, 0.99, 0.1), (1, 0.0, 0.5),
                                           (10, 0.9, 0.1), (3, 0.5, 2.0)])
def test_horizon_is_smallest_with_negligible_tail(k, gamma, eps):
    H = int(bounds.horizon(k, gamma, eps))
    assert H >= 1

    def holds(h):
        return math.sqrt(k) * gamma ** h / (1 - gamma) <= 1e-3 * eps

    assert holds(H)
    assert H == 1 or not holds(H - 1)


def test_horizon_known_values():
    assert int(bounds.horizon(16, 0.95, 1.0)) == 221
    assert int(bounds.horizon(1000, 0.99, 0.1)) == 1719


def test_theorem1_iterations():
    assert int(bounds.theorem1_iterations(16, 0.95, 0.5)) == math.ceil(16 / (0.05 * 0.5) ** 2)
    np.testing.assert_array_equal(bounds.theorem1_iterations([1, 4], 0.5, 1.0), [4, 16])


def test_more_bounds_against_worked_numbers():
    L = math.log(2 / 0.05)
    # MWAL: 8 / (eps (1-gamma))^2 ln(2k/delta); k = 10, gamma = 0.9, eps = 0.1
    assert bounds.mwal_trajectories(10, 0.9, 0.1, 0.05) == pytest.approx(8 / 1e-4 * math.log(400))
    # Pinelis: 8 k / (eps(1-gamma))^2 ln(2/delta), and radius2 = 2 for one-hot features
    assert bounds.pinelis_trajectories(10, 0.9, 0.1, 0.05) == pytest.approx(80 / 1e-4 * L)
    assert bounds.pinelis_onehot_trajectories(1000, 0.9, 0.1, 0.05) == pytest.approx(16 / 1e-4 * L)
    # regret: 2 / (eps(1-gamma))^2 ln(2/delta), independent of k
    assert bounds.regret_trajectories([1, 1000], 0.9, 0.1, 0.05) == pytest.approx([2e4 * L] * 2)
    # MWAL rounds: k = 2, gamma = 0.5, eps = 1: c = 1/16, x = (sqrt(2.25) - sqrt 2)/2
    x = (1.5 - math.sqrt(2)) / 2
    assert int(bounds.mwal_iterations(2, 0.5, 1.0)) == math.ceil(math.log(2) / x**2) == 377
    assert int(bounds.mwal_iterations(1, 0.5, 1.0)) == 1
    assert int(bounds.theorem1_iterations(10, 0.9, 0.05)) == 400000


def test_bernstein_is_the_smallest_sufficient_m():
    k, g, e, d, v = 10, 0.9, 0.1, 0.05, 0.01
    m = float(bounds.bernstein_trajectories(k, g, e, d, [v] * k))
    L, tau = math.log(4 * k / d), (1 - g) * e / (2 * math.sqrt(k))

    def dev(n):
        return math.sqrt(2 * v * L / n) + 7 * L / (3 * (n - 1))

    assert dev(m) <= tau < dev(m - 1)
    # zero variance: the 7L/(3(m-1)) term alone; more variance needs more trajectories
    m0 = float(bounds.bernstein_trajectories(k, g, e, d, [0.0] * k))
    assert m0 == math.ceil(1 + 7 * L / (3 * tau)) and m0 < m
    np.testing.assert_array_equal(bounds.bernstein_trajectories(k, g, e, d, [[0.0] * k, [v] * k]), [m0, m])


def test_tiny_eps_gives_inf_and_saturated_counts_quietly():
    """eps (1 - gamma) -> 0: the bounds' limit is +inf, reached without floating-point warnings;
    integer counts saturate at COUNT_MAX instead of wrapping round to negative numbers."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for bound, *_ in bounds.BOUNDS.values():
            assert bound(10, 0.9, 1e-300, 0.05) == np.inf
        assert bounds.theorem1_iterations(10, 0.9, 1e-300) == np.int64(bounds.COUNT_MAX)
        assert bounds.mwal_iterations(10, 0.9, 1e-300) == np.int64(bounds.COUNT_MAX)
        assert bounds.mwal_iterations(1, 0.9, 1e-300) == 1
        assert bounds.theorem1_iterations(1000, 0.99, 1e-7) == np.int64(bounds.COUNT_MAX)
        assert 0 < bounds.horizon(10, 0.9, 1e-300) < 10**4
