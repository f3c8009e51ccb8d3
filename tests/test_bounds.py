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


def test_abbeel_ng_known_value():
    assert math.ceil(bounds.abbeel_ng_trajectories(16, 0.95, 1.0, 0.05)) == 82707


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
    assert int(bounds.theorem1_iterations(16, 0.95, 0.5)) == 25600
    np.testing.assert_array_equal(bounds.theorem1_iterations([1, 4], 0.5, 1.0), [4, 16])


# Each bound inverted independently: the tail probability of the inequality its docstring
# cites, written out here for the mean of m i.i.d. (1 - gamma)-scaled trajectory sums, must
# equal delta at the bound (so a wrong constant, exponent or log argument fails) and exceed it
# at 0.99 x the bound (the bound is the smallest sufficient m).
def _hoeffding(m, t, span=1.0):
    """Two-sided Hoeffding (1963) for a mean of m variables in an interval of length span."""
    return 2 * math.exp(-2 * m * t**2 / span**2)


TAILS = {
    # Abbeel & Ng Thm 2: every coordinate within eps (1-gamma) / (2 sqrt k), union over k
    "abbeel_ng": lambda m, k, g, e: k * _hoeffding(m, e * (1 - g) / (2 * math.sqrt(k))),
    # MWAL: every coordinate within (1-gamma) eps / 4, union over k
    "mwal": lambda m, k, g, e: k * _hoeffding(m, (1 - g) * e / 4),
    # Pinelis 1994 Thm 3.5 with d_j = (Z_j - mu) / m, ||Z_j - mu||^2 <= k: r = (1-gamma) eps / 2
    "pinelis": lambda m, k, g, e: 2 * math.exp(-((1 - g) * e / 2) ** 2 * m / (2 * k)),
    "pinelis_onehot": lambda m, k, g, e: 2 * math.exp(-((1 - g) * e / 2) ** 2 * m / (2 * 2)),
    # regret: w* . Z in an interval of length 1, within (1-gamma) eps / 2
    "regret": lambda m, k, g, e: _hoeffding(m, (1 - g) * e / 2),
}


@pytest.mark.parametrize("name", sorted(TAILS))
@pytest.mark.parametrize("k, gamma, eps, delta", [(10, 0.9, 0.1, 0.05), (1000, 0.99, 0.1, 0.05),
                                                  (3, 0.5, 2.0, 0.2), (64, 0.95, 0.5, 1e-6)])
def test_each_bound_is_where_its_tail_inequality_reaches_delta(name, k, gamma, eps, delta):
    m = float(getattr(bounds, f"{name}_trajectories")(k, gamma, eps, delta))
    tail = TAILS[name]
    assert tail(m, k, gamma, eps) == pytest.approx(delta, rel=1e-9)
    assert tail(0.99 * m, k, gamma, eps) > delta


def test_a_planted_constant_error_is_caught():
    """The check above fails for a bound off by the factor 4 of the eps/2 split or by a
    missing union bound (the two ways the bounds here differ from each other)."""
    k, g, e, d = 10, 0.9, 0.1, 0.05
    m = float(bounds.abbeel_ng_trajectories(k, g, e, d))
    for wrong in (m / 4, 2 * k / (e * (1 - g)) ** 2 * math.log(2 / d)):
        assert TAILS["abbeel_ng"](wrong, k, g, e) != pytest.approx(d, rel=1e-3)


@pytest.mark.parametrize("k, gamma, eps", [(2, 0.5, 1.0), (10, 0.9, 0.1), (1000, 0.99, 0.1), (5, 0.0, 2.0)])
def test_mwal_rounds_are_the_fewest_with_freund_schapire_regret_in_budget(k, gamma, eps):
    """Freund & Schapire (1999): average regret sqrt(2 ln k / T) + ln k / T after T rounds; MWAL
    needs it at most (1 - gamma) eps / 8 (its docstring); T is the smallest such integer."""
    T = int(bounds.mwal_iterations(k, gamma, eps))

    def regret(t):
        return math.sqrt(2 * math.log(k) / t) + math.log(k) / t

    budget = (1 - gamma) * eps / 8
    assert regret(T) <= budget * (1 + 1e-12) and regret(T - 1) > budget
    assert int(bounds.mwal_iterations(1, 0.5, 1.0)) == 1  # one expert: nothing to learn


def test_worked_numbers():
    # MWAL rounds at k = 2, gamma = 0.5, eps = 1 worked by hand: c = 1/16,
    # x = (sqrt(2.25) - sqrt 2) / 2, T = ceil(ln 2 / x^2)
    assert int(bounds.mwal_iterations(2, 0.5, 1.0)) == 377
    assert int(bounds.theorem1_iterations(10, 0.9, 0.05)) == 400000
    # one-hot Pinelis and regret do not grow with k
    assert bounds.pinelis_onehot_trajectories(1000, 0.9, 0.1, 0.05) == bounds.pinelis_onehot_trajectories(
        10, 0.9, 0.1, 0.05)
    assert np.ptp(bounds.regret_trajectories([1, 1000], 0.9, 0.1, 0.05)) == 0


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
