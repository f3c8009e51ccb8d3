"""The ladder and predictions (mcirl.ladder) against laws with known quantiles, with planted
errors the checks must see."""

import numpy as np
import pytest
from scipy import stats

from mcirl import bounds, ladder

#: The Monte Carlo intervals the statistical checks use: wrong less than once in 10^7 runs.
SURE = 1 - 1e-7


def exact_quantiles(cov, w, level):
    """(||Z||_2, ||Z||_inf, -w . Z) quantiles for cov = diag(variances) with equal variances:
    chi-square, the product law of independent |Z_i|, and a normal."""
    k, sd = len(cov), np.sqrt(cov[0, 0])
    return np.array([sd * np.sqrt(stats.chi2.ppf(level, k)),
                     sd * stats.norm.ppf((1 + level ** (1 / k)) / 2),
                     stats.norm.ppf(level) * np.sqrt(w @ cov @ w)])


@pytest.mark.statistical
def test_quantiles_of_known_laws_lie_in_their_stated_intervals():
    cov, w = 2.0 * np.eye(5), np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    draws = ladder.deviation_draws(cov, w, 200_000, seed=1)
    q, lo, hi = ladder.quantile(draws[:, :3], 0.95, SURE)
    exact = exact_quantiles(cov, w, 0.95)
    assert ((lo <= exact) & (exact <= hi)).all(), (lo, exact, hi)
    assert np.isnan(draws[:, 3]).all()  # no termination model asked for
    # planted: a covariance 5% too large is seen, on every column
    wrong = ladder.quantile(ladder.deviation_draws(1.05 * cov, w, 200_000, seed=1)[:, :3], 0.95, SURE)
    assert ((wrong[1] > exact) | (wrong[2] < exact)).all()


def test_a_singular_covariance_is_one_direction():
    """cov = v v^T: Z = xi v, so ||Z||_2 = |xi| ||v||, ||Z||_inf = |xi| max |v_i|."""
    v = np.array([3.0, -1.0, 0.0])
    draws = ladder.deviation_draws(np.outer(v, v), np.zeros(3), 5_000, seed=2)
    np.testing.assert_allclose(draws[:, 1] / draws[:, 0], 3 / np.sqrt(10), rtol=1e-7)
    np.testing.assert_allclose(draws[:, 2], 0.0)
    zero = ladder.deviation_draws(np.zeros((2, 2)), np.ones(2) / 2, 1_000)
    assert (zero[:, :3] == 0).all()
    assert ladder.predicted_mstar(zero, 0.1, 0.05)["l2"] == (1.0, 1.0, 1.0)  # one trajectory


def test_union_quantile():
    assert ladder.union_quantile([4.0] * 10, 0.05) == pytest.approx(2 * stats.norm.isf(0.0025), rel=1e-10)
    assert ladder.union_quantile([1.0], 0.05) == pytest.approx(1.959963985, rel=1e-9)
    assert ladder.union_quantile([0.0, 0.0], 0.05) == 0.0
    # unequal variances: the union's tail sums to delta exactly, below the equal-variance bound
    t = ladder.union_quantile([1.0, 0.25, 0.01], 0.05)
    assert 2 * stats.norm.sf(t / np.sqrt([1.0, 0.25, 0.01])).sum() == pytest.approx(0.05, rel=1e-9)
    assert t < stats.norm.isf(0.05 / 6)


def test_the_ladder_multiplies_out_to_the_bound():
    k, gamma, eps, delta = 7, 0.9, 0.1, 0.05
    variances = np.linspace(0.2, 1.0, k)
    steps = ladder.ladder(k, gamma, eps, delta, variances, q_inf=2.7, q_2=3.1)
    assert [s for s, _, _ in steps] == list(ladder.STEPS)
    assert steps[0][1] == pytest.approx(float(bounds.abbeel_ng_trajectories(k, gamma, eps, delta)))
    assert np.prod([f for _, _, f in steps]) == pytest.approx(steps[0][1] / steps[-1][1])
    # by hand: 4k t^2 / eps^2, 4k q_inf^2 / eps^2, 4 q_2^2 / eps^2, q_2^2 / eps^2
    t = ladder.union_quantile(variances, delta)
    np.testing.assert_allclose([m for _, m, _ in steps[1:]],
                               [4 * k * t * t / eps**2, 4 * k * 2.7**2 / eps**2,
                                4 * 3.1**2 / eps**2, 3.1**2 / eps**2])


def test_with_one_feature_the_joint_law_is_the_union_bound():
    draws = ladder.deviation_draws(np.array([[2.0]]), np.array([1.0]), 100_000, seed=3)
    q = ladder.quantile(draws[:, :3], 0.95)[0]
    steps = ladder.ladder(1, 0.9, 0.1, 0.05, [2.0], q[1], q[0])
    assert steps[2][2] == pytest.approx(1.0, abs=0.02)  # Monte Carlo error of q at 10^5 draws
    assert steps[3][2] == pytest.approx(1.0)  # and l2 is l_inf


def test_pooled_instances_are_their_mixture():
    """The pooled prediction makes the mean of the instances' failure curves delta."""
    eps, delta = 0.1, 0.05
    a = ladder.deviation_draws(np.eye(3), np.zeros(3), 50_000, seed=4)
    b = ladder.deviation_draws(4 * np.eye(3), np.zeros(3), 50_000, seed=5)
    pooled = ladder.predicted_mstar(np.vstack([a, b]), eps, delta)["l2"][0]
    alone = [ladder.predicted_mstar(x, eps, delta)["l2"][0] for x in (a, b)]
    assert alone[0] < pooled < alone[1]
    mean_failure = np.mean([ladder.predicted_failure(x, pooled, eps)["l2"][0] for x in (a, b)])
    assert mean_failure == pytest.approx(delta, abs=1e-4)


def test_cone_distances_by_hand():
    """The cone of e_1 and e_2 is the positive quadrant: the distance is the negative part's norm;
    no generators leave the whole vector."""
    rng = np.random.default_rng(6)
    Z = rng.normal(size=(50, 2))
    np.testing.assert_allclose(ladder.cone_distances(np.eye(2), Z),
                               np.linalg.norm(np.minimum(Z, 0), axis=1), atol=1e-12)
    np.testing.assert_allclose(ladder.cone_distances(np.zeros((3, 2)), Z), np.linalg.norm(Z, axis=1))
    # a half-plane, given by three generators (one redundant)
    half = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    np.testing.assert_allclose(ladder.cone_distances(half, Z), np.abs(np.minimum(Z[:, 0], 0)), atol=1e-12)


def test_termination_only_adds_failures():
    cov = np.eye(2)
    draws = ladder.deviation_draws(cov, np.array([0.5, 0.5]), 4_000, seed=7,
                                   generators=np.eye(2), termination_draws=1_000)
    assert np.isfinite(draws[:1000, 3]).all() and np.isnan(draws[1000:, 3]).all()
    with_t = ladder.predicted_mstar(draws, 0.1, 0.05, termination=True)
    alone = ladder.predicted_mstar(draws[:1000], 0.1, 0.05)
    assert set(with_t) == set(ladder.PREDICTED) | {"termination"}
    for c in ladder.PREDICTED:
        assert with_t[c][0] >= alone[c][0]
    # the quadrant's termination deviation, 2 ||min(Z, 0)||, by hand on the same draws
    Z = np.random.default_rng(7).standard_normal((1000, 2))  # deviation_draws' first chunk
    np.testing.assert_allclose(draws[:1000, 3], 2 * np.linalg.norm(np.minimum(Z, 0), axis=1),
                               atol=1e-12)


def test_the_union_bound_of_a_mixture():
    """Two instances, each one coordinate: the mixture's tail is the mean of theirs."""
    t = ladder.union_quantile([[1.0], [4.0]], 0.05)
    assert (stats.norm.sf(t) + stats.norm.sf(t / 2)) == pytest.approx(0.05, rel=1e-9)
    assert ladder.union_quantile([[1.0, 1.0]], 0.05) == ladder.union_quantile([1.0, 1.0], 0.05)
