import numba
import numpy as np
import pytest

from mcirl.sample import (NO_HORIZON, ExpertChain, choose_sampler, mu_hat, sample_occupancy,
                          trajectory_law)
from mcirl.solve import feature_expectations, optimal_policy
from tests import oracle
from tests.stats_checks import mean_z, moment_z, z_threshold

SAMPLERS = ("trajectories", "counts")


def expert(mdp):
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    return policy[0], ExpertChain.from_policy(mdp, policy[0])


def truncated_mu(mdp, policy, H):
    """E[mu_hat] exactly: sum_{t<H} gamma^t Phi^T (P_pi^T)^t d0."""
    P_pi = oracle.chain(oracle.dense(mdp), policy)
    d, total = mdp.d0.copy(), np.zeros(mdp.S)
    for t in range(H):
        total += mdp.gamma ** t * d
        d = P_pi.T @ d
    return mdp.phi.T @ total


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_unbiased_and_close_to_exact_mu(small_garnet, sampler):
    mdp, H = small_garnet, 60
    policy, chain = expert(mdp)
    occ = sample_occupancy(chain, mdp.gamma, H, [5], 4000, seed=11, sampler=sampler)
    est = mu_hat(occ, mdp.phi, [5])[:, 0]
    limit = z_threshold(mdp.k)
    assert np.abs(mean_z(est, truncated_mu(mdp, policy, H))).max() < limit
    # The untruncated exact mu differs by at most gamma^H/(1-gamma) = 0.018 per coordinate.
    mu_E = feature_expectations(mdp, policy[None])[0]
    assert np.abs(est.mean(axis=0) - mu_E).max() < 0.02 + limit * est.std(axis=0).max() / 63
    # Power: the same estimates are rejected against a planted error (horizon cut to 20 steps).
    assert np.abs(mean_z(est, truncated_mu(mdp, policy, 20))).max() > limit


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_discounted_mass_is_exact(small_garnet, sampler):
    mdp, H = small_garnet, 40
    _, chain = expert(mdp)
    grid = [1, 7, 300] if sampler == "trajectories" else [1, 7, 300, 2 * 10**10]
    occ = sample_occupancy(chain, mdp.gamma, H, grid, 3, seed=2, sampler=sampler)
    per_trajectory = (1 - mdp.gamma ** H) / (1 - mdp.gamma)
    expected = np.broadcast_to(np.array(grid, dtype=float) * per_trajectory, occ.shape[:2])
    np.testing.assert_allclose(occ.sum(axis=2), expected, rtol=1e-12)
    assert (occ >= 0).all() and (np.diff(occ, axis=1) >= 0).all()


@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_independent_of_thread_count(small_garnet, sampler, lengths):
    mdp = small_garnet
    _, chain = expert(mdp)
    chain, decay, H = trajectory_law(chain, mdp.gamma, 30, lengths)
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        runs.append(sample_occupancy(chain, decay, H, [3, 2000, 5000], 6, seed=4, sampler=sampler))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    np.testing.assert_array_equal(runs[0], runs[1])


def test_nested_prefixes_reuse_the_same_trajectories(small_garnet):
    mdp = small_garnet
    _, chain = expert(mdp)
    both = sample_occupancy(chain, mdp.gamma, 30, [3, 2500], 4, seed=9, sampler="trajectories")
    small = sample_occupancy(chain, mdp.gamma, 30, [3], 4, seed=9, sampler="trajectories")
    big = sample_occupancy(chain, mdp.gamma, 30, [2500], 4, seed=9, sampler="trajectories")
    np.testing.assert_array_equal(both[:, 0], small[:, 0])
    np.testing.assert_allclose(both[:, 1], big[:, 0], rtol=1e-12)


def test_replicate_offset_selects_streams(small_garnet):
    mdp = small_garnet
    _, chain = expert(mdp)
    for sampler in SAMPLERS:
        all_reps = sample_occupancy(chain, mdp.gamma, 20, [4, 9], 5, seed=1, sampler=sampler)
        tail = sample_occupancy(chain, mdp.gamma, 20, [4, 9], 2, seed=1, sampler=sampler, rep_offset=3)
        np.testing.assert_array_equal(all_reps[3:], tail)


@pytest.mark.statistical
def test_counts_and_trajectories_agree_in_mean_and_covariance(dense_garnet):
    mdp, H, m = dense_garnet, 40, 4
    _, chain = expert(mdp)
    a = mu_hat(sample_occupancy(chain, mdp.gamma, H, [m], 20000, seed=21, sampler="trajectories"), mdp.phi, [m])[:, 0]
    b = mu_hat(sample_occupancy(chain, mdp.gamma, H, [m], 20000, seed=22, sampler="counts"), mdp.phi, [m])[:, 0]
    z = moment_z(a, b)
    assert np.abs(z).max() < z_threshold(z.size)
    # Power: a sampler whose variance is 10% too large is caught by the same comparison.
    inflated = a.mean(axis=0) + (a - a.mean(axis=0)) * np.sqrt(1.1)
    assert np.abs(moment_z(inflated, b)).max() > z_threshold(z.size)


def test_auto_prefers_counts_for_large_m(small_garnet):
    _, chain = expert(small_garnet)
    assert choose_sampler("auto", chain, [1, 2], 100) == "trajectories"
    assert choose_sampler("auto", chain, [10**6], 100) == "counts"
    assert choose_sampler("counts", chain, [1], 100) == "counts"


def geometric_visit_moments(mdp, policy, gamma=None):
    """Oracle: E N and E[N N^T] of one geometric-length trajectory's visit counts N: (S,).

    With G = (I - gamma P_pi)^-1 (expected visits from each start, Kemeny & Snell 1960, ch. 3),
    E_s N_j = G_sj and E_s[N_i N_j] = G_si G_ij + G_sj G_ji - [i = j] G_si; then average over d0.
    """
    P_pi = oracle.chain(oracle.dense(mdp), policy)
    G = np.linalg.inv(np.eye(mdp.S) - (mdp.gamma if gamma is None else gamma) * P_pi)
    first = mdp.d0 @ G
    second = first[:, None] * G + (first[:, None] * G).T - np.diag(first)
    return first, second


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_geometric_lengths_are_unbiased_for_exact_mu(small_garnet, sampler):
    mdp, m = small_garnet, 5
    policy, chain = expert(mdp)
    occ = sample_occupancy(*trajectory_law(chain, mdp.gamma, 60, "geometric"), [m], 4000,
                           seed=12, sampler=sampler)
    est = mu_hat(occ, mdp.phi, [m])[:, 0]
    exact = mdp.phi.T @ geometric_visit_moments(mdp, policy)[0]
    limit = z_threshold(mdp.k)
    assert np.abs(mean_z(est, exact)).max() < limit
    # Power: the truncated mean 20 steps in (off by gamma^20 / (1 - gamma) = 1.2 at most) is not.
    assert np.abs(mean_z(est, truncated_mu(mdp, policy, 20))).max() > limit


@pytest.mark.statistical
@pytest.mark.parametrize("sampler", SAMPLERS)
def test_geometric_visit_counts_have_the_exact_second_moments(small_garnet, sampler):
    """One trajectory per replicate: occ is its visit counts N, an integer vector whose first
    and second moments are known exactly (so the lengths' law, not just its mean, is right)."""
    mdp = small_garnet
    policy, chain = expert(mdp)
    N = sample_occupancy(*trajectory_law(chain, mdp.gamma, 60, "geometric"), [1], 20000,
                         seed=13, sampler=sampler)[:, 0]
    assert (N == np.round(N)).all() and (N.sum(axis=1) >= 1).all()
    first, second = geometric_visit_moments(mdp, policy)
    i, j = np.triu_indices(mdp.S)
    samples = np.concatenate([N, N[:, i] * N[:, j]], axis=1)
    expected = np.concatenate([first, second[i, j]])
    z = mean_z(samples, expected)
    assert np.abs(z).max() < z_threshold(z.size)
    # Power: lengths drawn with gamma^2 per step in place of gamma are caught.
    wrong, _ = geometric_visit_moments(mdp, policy, gamma=mdp.gamma ** 2)
    assert np.abs(mean_z(N, wrong)).max() > z_threshold(z.size)


@pytest.mark.statistical
def test_geometric_counts_cost_does_not_grow_with_m(small_garnet):
    """m = 2e10 trajectories end after about ln(m) / (1 - gamma) steps; their total length is
    a sum of m geometric lengths: mean m / (1 - gamma), variance m gamma / (1 - gamma)^2."""
    mdp, m = small_garnet, 2 * 10**10
    _, chain = expert(mdp)
    occ = sample_occupancy(*trajectory_law(chain, mdp.gamma, 60, "geometric"), [m], 8, seed=14,
                           sampler="counts")
    g = mdp.gamma
    z = (occ.sum(axis=2)[:, 0] - m / (1 - g)) / np.sqrt(m * g / (1 - g) ** 2)
    assert np.abs(z).max() < z_threshold(z.size)


def test_geometric_lengths_walk_the_killed_chain(small_garnet):
    _, chain = expert(small_garnet)
    killed, decay, H = trajectory_law(chain, 0.9, 60, "geometric")
    assert (decay, H, killed.ends) == (1.0, NO_HORIZON, pytest.approx(0.1))
    np.testing.assert_allclose(killed.prob.sum(axis=1), 1.0, rtol=1e-15)
    assert (killed.nxt[:, 0] == chain.S).all()
    assert trajectory_law(chain, 0.9, 60, "truncated") == (chain, 0.9, 60)
    # gamma = 0: every trajectory is its first state, drawn from d0.
    occ = sample_occupancy(*trajectory_law(chain, 0.0, 60, "geometric"), [50], 2, seed=1,
                           sampler="trajectories")
    np.testing.assert_array_equal(occ.sum(axis=2), 50)
    # auto: walking is cheap while m x 10 steps (the mean length) stays below S B x ln(m) / 0.1.
    assert choose_sampler("auto", killed, [200], NO_HORIZON) == "trajectories"
    assert choose_sampler("auto", killed, [10**7], NO_HORIZON) == "counts"
