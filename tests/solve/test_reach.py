"""The exact termination model: t*(z) by hand on a chain whose achievable set is a segment,
against the oracle's hull of every deterministic policy's mu on random small MDPs (with planted
errors), and above the tangent cone's lower bound."""

import numpy as np
import pytest

from mcirl import ladder
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.mdp.validate import checked_mdp
from mcirl.solve import expert, reach
from mcirl.solve.cone import switch_directions
from mcirl.solve.evaluate import occupancy
from tests import oracle


def two_state_chain(gamma):
    """State 0 (the start) stays (action 0) or moves to the absorbing state 1 (action 1); one-hot
    features. rho_0 runs over [1, 1 / (1 - gamma)], so K is the segment from (1, gamma /
    (1 - gamma)) (leave at once) to (1 / (1 - gamma), 0) (stay: the expert, w = (1, 0))."""
    nxt = np.array([[[0], [1]], [[1], [1]]])
    return checked_mdp(nxt=nxt, prob=np.ones((2, 2, 1)), phi=np.eye(2), w=np.array([1.0, 0.0]),
                       d0=np.array([1.0, 0.0]), gamma=gamma)


def segment_distance(x, a, b):
    u = np.clip((x - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
    return np.linalg.norm(x - a - u * (b - a))


def largest_t(distance, mu_E, z, radius, top=1e3):
    """The largest t in [0, top] with distance(mu_E + t z) <= radius, by bisection (h is convex
    with h(0) = 0, so the feasible t form an interval); top where the whole range is feasible."""
    if distance(mu_E + top * z) <= radius:
        return top
    lo, hi = 0.0, top
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if distance(mu_E + mid * z) <= radius else (lo, mid)
    return lo


def test_t_star_by_hand_on_a_segment():
    gamma, radius = 0.5, 0.05
    mdp = two_state_chain(gamma)
    mu_E = np.array([1 / (1 - gamma), 0.0])
    a, b = np.array([1.0, gamma / (1 - gamma)]), mu_E
    M, Psi = reach.occupancy_constraints(mdp)
    assert M.shape == (2, 4) and Psi.shape == (2, 4)
    # along the segment (into K) the ray stays within radius until it passes the far end
    Z = np.array([[-1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [1.0, -3.0]])
    t = reach.reach_scales(mdp, mu_E, Z, radius)
    expected = [largest_t(lambda x: segment_distance(x, a, b), mu_E, z, radius) for z in Z]
    # (1, 0): straight out of K at the vertex, t* = radius; (-1, 1): along K, to its far end
    # (length 1) plus radius
    assert expected[1] == pytest.approx(radius, rel=1e-9)
    assert expected[0] == pytest.approx(1 + radius / np.sqrt(2), rel=1e-9)
    np.testing.assert_allclose(t, expected, rtol=1e-6)
    np.testing.assert_allclose(reach.termination_deviations(mdp, mu_E, Z, 2 * radius),
                               2 * radius / t, rtol=1e-12)


def oracle_case(seed):
    mdp = make_mdp(FamilySpec(S=4, A=2, b=2, k=3, features="dense", gamma=0.7, seed=seed))
    P = oracle.dense(mdp)
    points = oracle.achievable_points(P, mdp.d0, mdp.phi, mdp.gamma)
    policy = expert(mdp)[0]
    mu_E = oracle.mu(P, policy[0], mdp.d0, mdp.phi, mdp.gamma)
    return mdp, points, policy, mu_E


def oracle_scales(points, mu_E, Z, radius):
    return np.array([largest_t(lambda x: oracle.hull_distance(points, x), mu_E, z, radius)
                     for z in Z])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_t_star_against_the_hull_of_every_deterministic_policy(seed):
    mdp, points, _, mu_E = oracle_case(seed)
    Z = np.random.default_rng(seed).standard_normal((6, 3))
    radius = 0.05
    np.testing.assert_allclose(reach.reach_scales(mdp, mu_E, Z, radius),
                               oracle_scales(points, mu_E, Z, radius), rtol=1e-3)


def test_planted_errors_are_caught_by_the_hull_oracle(monkeypatch):
    mdp, points, _, mu_E = oracle_case(0)
    Z = np.random.default_rng(0).standard_normal((6, 3))
    truth = oracle_scales(points, mu_E, Z, 0.05)
    # a radius of eps / 4 instead of eps / 2
    assert not np.allclose(reach.reach_scales(mdp, mu_E, Z, 0.025), truth, rtol=1e-3)
    # flow constraints without the discount: a different polytope
    plain = reach.occupancy_constraints

    def undiscounted(m):
        M, Psi = plain(m)
        return M + (m.gamma - 1.0) * reach.to_scipy(m.transition_matrix).T, Psi

    monkeypatch.setattr(reach, "occupancy_constraints", undiscounted)
    planted = reach.reach_scales(mdp, mu_E, Z, 0.05)
    assert not np.allclose(planted, truth, rtol=1e-3, equal_nan=False)


def test_exact_deviation_is_at_least_the_cone_bound():
    mdp = make_mdp(FamilySpec(S=30, A=3, b=3, k=5, features="dense", gamma=0.9, seed=4))
    policy = expert(mdp)[0]
    assert (occupancy(mdp, policy) > 0).all()  # mu_E is a vertex: the cone is its tangent cone
    mu_E = oracle.mu(oracle.dense(mdp), policy[0], mdp.d0, mdp.phi, mdp.gamma)
    generators = switch_directions(mdp, policy)[0].reshape(-1, mdp.k)
    Z = np.random.default_rng(3).standard_normal((40, mdp.k))
    eps = 0.1
    exact = reach.termination_deviations(mdp, mu_E, Z, eps)
    cone = 2.0 * ladder.cone_distances(generators, Z)
    assert np.isfinite(exact).all()
    assert (exact >= cone * (1 - 1e-6)).all()
    # and not identical: K's far faces matter at this eps for some draws
    assert (exact > cone * 1.01).any()
    # as eps shrinks K looks like its cone from mu_E, and the two meet; draws into the cone
    # then stop until the ray leaves K, far out: a deviation of order eps
    small = 1e-3
    close = reach.termination_deviations(mdp, mu_E, Z, small)
    outward, inward = cone > 0.01, cone < 1e-9
    assert outward.sum() >= 10 and inward.sum() >= 5
    np.testing.assert_allclose(close[outward], cone[outward], rtol=1e-3)
    assert (close[inward] < 10 * small).all()


def test_the_zero_draw_never_fails_to_terminate():
    mdp, _, _, mu_E = oracle_case(1)
    assert reach.reach_scales(mdp, mu_E, np.zeros((1, 3)), 0.05)[0] == np.inf
    assert reach.termination_deviations(mdp, mu_E, np.zeros((1, 3)), 0.1)[0] == 0.0
