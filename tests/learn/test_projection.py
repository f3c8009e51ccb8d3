import numpy as np
import pytest

from mcirl import bounds
from mcirl.learn import learn, min_norm_points, successes
from mcirl.learn.result import CERTIFIED, UNDECIDED
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import feature_expectations, optimal_policy


@pytest.fixture(scope="module")
def cell():
    mdp = make_mdp(FamilySpec(S=20, A=3, b=3, k=5, features="dense", gamma=0.9, seed=7))
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    return mdp, feature_expectations(mdp, policy)[0]


@pytest.mark.parametrize("algorithm", ["projection", "max-margin"])
def test_exact_expert_terminates_within_theorem1(cell, algorithm):
    mdp, mu_E = cell
    eps = 0.2
    res = learn(mdp, mu_E[None], eps, algorithm=algorithm, max_iter=1000)
    assert res.terminated.all()
    assert np.linalg.norm(res.mu_tilde[0] - mu_E) <= eps / 2 + 1e-12
    assert res.iterations[0] <= bounds.theorem1_iterations(mdp.k, mdp.gamma, eps / 2)
    assert all(successes(res.mu_tilde, mu_E, mdp.w, eps)[c][0] for c in ("theorem", "l2", "regret"))
    t = res.t_history[0][~np.isnan(res.t_history[0])]
    assert (np.diff(t) <= 1e-12).all()  # t_i non-increasing


def achievable_targets(mdp, n, rng):
    """Feature expectations of random mixtures of random deterministic policies."""
    policies = rng.integers(0, mdp.A, size=(3 * n, mdp.S))
    mus = feature_expectations(mdp, policies).reshape(n, 3, -1)
    lam = rng.dirichlet(np.ones(3), size=n)
    return np.einsum("nj,njk->nk", lam, mus)


def test_projection_mu_bar_stays_in_the_hull(cell, rng):
    """Replays the projection steps: the learner's t_i equal the formula's, and each mu_bar_i
    lies in conv(mu_0..mu_i)."""
    mdp, _ = cell
    targets = achievable_targets(mdp, 6, rng)
    res = learn(mdp, targets, 0.05, max_iter=40)
    from mcirl.solve import uniform_policy

    mu_bar = np.repeat(feature_expectations(mdp, uniform_policy(mdp))[0][None], 6, axis=0)
    hull = [mu_bar.copy()]
    for i in range(int(res.iterations.max())):
        w = targets - mu_bar
        # the learner's margins are exactly the formula's (docs/method.md's update)
        running = ~np.isnan(res.t_history[:, i])
        np.testing.assert_allclose(res.t_history[running, i], np.linalg.norm(w, axis=1)[running],
                                   rtol=1e-9)
        policy, _ = optimal_policy(mdp, w @ mdp.phi.T)
        mu_i = feature_expectations(mdp, policy)
        hull.append(mu_i)
        v = mu_i - mu_bar
        mu_bar = mu_bar + ((v * w).sum(1) / (v * v).sum(1))[:, None] * v
        points = np.stack(hull, axis=1)
        _, closest, _ = min_norm_points(points, np.full(6, len(hull)), mu_bar)
        np.testing.assert_allclose(closest, mu_bar, atol=1e-8)
    assert res.terminated.all()


def test_unreachable_target_is_not_terminated(cell):
    mdp, mu_E = cell
    far = np.full((2, mdp.k), 1 / (1 - mdp.gamma))  # every feature always on: impossible
    res = learn(mdp, far, 0.1, max_iter=15, certificate="off")
    assert not res.terminated.any()
    assert (res.iterations == 15).all()
    assert (res.outcome == UNDECIDED).all()
    ok = successes(res.mu_tilde, mu_E, mdp.w, 0.1)
    assert res.mu_tilde.shape == (2, mdp.k) and set(ok) == {"theorem", "l2", "regret"}
    certified = learn(mdp, far, 0.1, max_iter=15)  # proven at once, far from the cap
    assert (certified.outcome == CERTIFIED).all() and (certified.iterations == 1).all()
    assert (certified.lower_bound > 0.05).all()


def test_criteria_definitions():
    mu_E = np.array([1.0, 2.0])
    mu_t = np.array([[1.05, 2.0], [1.08, 1.92], [0.5, 2.6]])
    w = np.array([0.5, 0.5])
    ok = successes(mu_t, mu_E, w, 0.1)
    assert ok["theorem"].tolist() == [True, True, False]
    assert ok["l2"].tolist() == [True, False, False]
    assert ok["regret"].tolist() == [True, True, True]  # w . (mu_E - mu_t) = -0.025, 0, -0.05
