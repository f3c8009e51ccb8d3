"""The exact covariance of a trajectory's feature sum: by hand on two-state chains, against the
samplers' sample covariance (a statistical test that fails on planted errors), and the laws'
limits against each other."""

from dataclasses import replace

import numpy as np
import pytest

from mcirl import bounds
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.mdp.validate import checked_mdp
from mcirl.sample import ExpertChain, sample_occupancy, trajectory_law
from mcirl.solve import expert
from mcirl.solve import moments
from mcirl.solve.moments import trajectory_moments
from tests.stats_checks import covariance_z

Z_LIMIT = 6.0  # covariance_z: below 1e-7 per test for a correct implementation


def leaving_chain(p, gamma):
    """Two states, one action: state 0 stays w.p. 1 - p, else moves to the absorbing state 1;
    start in 0; one feature, the indicator of state 0."""
    P = np.array([[[1 - p, p]], [[0.0, 1.0]]])
    return checked_mdp(P=P, phi=np.array([[1.0], [0.0]]), w=np.array([1.0]),
                       d0=np.array([1.0, 0.0]), gamma=gamma)


def test_two_state_chain_by_hand():
    """T = the step state 0 is left: P(T = t) = (1-p)^(t-1) p. Then G is the time in state 0,
    discounted or cut by L, and its moments are sums over T (and L) alone."""
    p, gamma, H = 0.3, 0.8, 7
    mdp = leaving_chain(p, gamma)
    policy = np.zeros((1, 2), dtype=np.int64)
    T = np.arange(1, 2000)
    law = (1 - p) ** (T - 1) * p
    # infinite discounted: G = (1 - gamma^T) / (1 - gamma)
    G = (1 - gamma**T) / (1 - gamma)
    mean, cov = trajectory_moments(mdp, policy, "infinite")
    np.testing.assert_allclose(mean[0, 0], law @ G, rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 0], law @ G**2 - (law @ G) ** 2, rtol=1e-10)
    # truncated at H: G = (1 - gamma^min(T, H)) / (1 - gamma)
    G = (1 - gamma ** np.minimum(T, H)) / (1 - gamma)
    mean, cov = trajectory_moments(mdp, policy, "truncated", H)
    np.testing.assert_allclose(mean[0, 0], law @ G, rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 0], law @ G**2 - (law @ G) ** 2, rtol=1e-10)
    # geometric lengths: G = min(T, L), geometric with P(G > t) = (gamma (1-p))^t
    r = gamma * (1 - p)
    mean, cov = trajectory_moments(mdp, policy, "geometric")
    np.testing.assert_allclose(mean[0, 0], 1 / (1 - r), rtol=1e-12)
    np.testing.assert_allclose(cov[0, 0, 0], r / (1 - r) ** 2, rtol=1e-10)


def test_two_state_coin_by_hand():
    """A fresh fair coin each step between two one-hot states: G = e_s0 + gamma e_s1 (H = 2)
    has covariance (1 + gamma^2) / 4 [[1, -1], [-1, 1]]."""
    P = np.full((2, 1, 2), 0.5)
    mdp = checked_mdp(P=P, phi=np.eye(2), w=np.array([0.5, 0.5]), d0=np.array([0.5, 0.5]),
                      gamma=0.6)
    mean, cov = trajectory_moments(mdp, np.zeros((1, 2), dtype=np.int64), "truncated", 2)
    np.testing.assert_allclose(mean[0], [0.8, 0.8])
    np.testing.assert_allclose(cov[0], (1 + 0.36) / 4 * np.array([[1, -1], [-1, 1]]), atol=1e-15)


def sampled_sums(mdp, policy, lengths, horizon, n, seed=7):
    """(n, k) feature sums G of n independent expert trajectories drawn by the samplers (one
    trajectory per replicate)."""
    chain, decay, steps = trajectory_law(ExpertChain.from_policy(mdp, policy[0]), mdp.gamma,
                                         horizon, lengths)
    occ = sample_occupancy(chain, decay, steps, [1], n, seed, "trajectories")
    return occ[:, 0, :] @ mdp.phi


@pytest.fixture(scope="module")
def garnet():
    mdp = make_mdp(FamilySpec(family="garnet", S=16, A=3, b=2, k=4, features="dense",
                              gamma=0.8, seed=5))
    return mdp, expert(mdp)[0]


@pytest.mark.statistical
@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_matches_the_samplers_sample_covariance(garnet, lengths):
    mdp, policy = garnet
    H = int(bounds.horizon(mdp.k, mdp.gamma, 0.1)) if lengths == "truncated" else None
    mean, cov = trajectory_moments(mdp, policy, lengths, H)
    G = sampled_sums(mdp, policy, lengths, H, 40_000)
    assert covariance_z(G, cov[0], mean[0]) < Z_LIMIT


@pytest.mark.statistical
@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_the_sample_check_sees_planted_errors(garnet, lengths, monkeypatch):
    """Planted bugs the check above must reject: visits treated as independent (the cross
    term dropped), and the other length law's covariance."""
    mdp, policy = garnet
    H = int(bounds.horizon(mdp.k, mdp.gamma, 0.1)) if lengths == "truncated" else None
    G = sampled_sums(mdp, policy, lengths, H, 40_000)
    other = "geometric" if lengths == "truncated" else "truncated"
    assert covariance_z(G, trajectory_moments(mdp, policy, other, 60)[1][0]) > 20
    monkeypatch.setattr(moments, "_both", lambda x: 0 * x)
    assert covariance_z(G, trajectory_moments(mdp, policy, lengths, H)[1][0]) > 20


def test_truncated_tends_to_the_infinite_sum(garnet):
    mdp, policy = garnet
    mean_t, cov_t = trajectory_moments(mdp, policy, "truncated", 400)  # gamma^400 ~ 1e-39
    mean_i, cov_i = trajectory_moments(mdp, policy, "infinite")
    np.testing.assert_allclose(mean_t, mean_i, rtol=1e-11)
    np.testing.assert_allclose(cov_t, cov_i, rtol=1e-9, atol=1e-11 * np.abs(cov_i).max())


def test_batched_rows_are_each_policy_alone(garnet, rng):
    mdp, _ = garnet
    policies = rng.integers(0, mdp.A, size=(3, mdp.S))
    for lengths, H in (("truncated", 30), ("geometric", None)):
        mean, cov = trajectory_moments(mdp, policies, lengths, H)
        for r in range(3):
            one_mean, one_cov = trajectory_moments(mdp, policies[r:r + 1], lengths, H)
            np.testing.assert_allclose(mean[r], one_mean[0], rtol=1e-12)
            np.testing.assert_allclose(cov[r], one_cov[0], rtol=1e-10, atol=1e-14)
        assert (np.linalg.eigvalsh(cov) > -1e-10).all()


def test_one_feature_without_variance_and_the_one_hot_sum():
    """A constant feature has zero variance (and zero covariance with the rest); one-hot
    features of the truncated law sum to (1 - gamma^H) / (1 - gamma) exactly, so every row of
    Sigma sums to 0."""
    mdp = make_mdp(FamilySpec(family="garnet", S=20, A=2, b=3, k=5, gamma=0.9, seed=1))
    policy = expert(mdp)[0]
    _, cov = trajectory_moments(mdp, policy, "truncated", 25)
    np.testing.assert_allclose(cov[0].sum(axis=1), 0.0, atol=1e-12)
    constant = replace(mdp, phi=np.hstack([mdp.phi, np.ones((mdp.S, 1))]), w=np.append(mdp.w, 0))
    _, cov = trajectory_moments(constant, policy, "geometric")
    assert abs(cov[0, -1, -1]) > 0  # geometric lengths: the length itself varies
    _, cov = trajectory_moments(constant, policy, "truncated", 25)
    np.testing.assert_allclose(cov[0, -1], 0.0, atol=1e-12)


@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_device_arrays_give_the_host_moments(fake_cupy, lengths):
    """CuPy arrays in (tests/fake_cupy.py for CuPy, the CUDA simulator for the solver's kernels;
    gamma = 0.2 keeps the simulated sweeps few), CuPy arrays out, the host's numbers."""
    mdp = make_mdp(FamilySpec(S=12, A=3, b=3, k=4, features="dense", gamma=0.2, seed=3))
    policy = expert(mdp)[0]
    device = mdp.to(fake_cupy)
    mean, cov = trajectory_moments(device, fake_cupy.asarray(policy), lengths, 9)
    assert isinstance(cov, fake_cupy.ndarray)
    host_mean, host_cov = trajectory_moments(mdp, policy, lengths, 9)
    np.testing.assert_allclose(mean.get(), host_mean, rtol=1e-10)
    np.testing.assert_allclose(cov.get(), host_cov, rtol=1e-9, atol=1e-14)
