import numpy as np
import pytest

from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import evaluate, feature_expectations, occupancy, uniform_policy
from tests import oracle


def random_policies(mdp, R, rng):
    return rng.integers(0, mdp.A, size=(R, mdp.S))


@pytest.mark.parametrize("method", ["dense", "iterative"])
def test_occupancy_matches_oracle_and_sums_to_horizon(small_garnet, rng, method):
    mdp = small_garnet
    policies = random_policies(mdp, 5, rng)
    d = occupancy(mdp, policies, method=method)
    P = oracle.dense(mdp)
    for r in range(5):
        np.testing.assert_allclose(d[r], oracle.occupancy(P, policies[r], mdp.d0, mdp.gamma), rtol=1e-9)
    np.testing.assert_allclose(d.sum(axis=1), 1 / (1 - mdp.gamma), rtol=1e-10)
    assert (d >= 0).all()


@pytest.mark.parametrize("method", ["dense", "iterative"])
def test_stochastic_policy_and_feature_bounds(dense_garnet, method):
    mdp = dense_garnet
    mu = feature_expectations(mdp, uniform_policy(mdp, 2), method=method)
    expected = oracle.mu(oracle.dense(mdp), np.full((mdp.S, mdp.A), 1 / mdp.A), mdp.d0, mdp.phi, mdp.gamma)
    np.testing.assert_allclose(mu, np.stack([expected] * 2), rtol=1e-9)
    assert (mu >= 0).all() and (mu <= 1 / (1 - mdp.gamma) + 1e-12).all()


def test_values_dense_and_iterative_agree(rng):
    mdp = make_mdp(FamilySpec(S=40, A=3, b=5, k=4, gamma=0.97, seed=4))
    policies = random_policies(mdp, 3, rng)
    rhs = rng.normal(size=(3, mdp.S))
    dense = evaluate(mdp, policies, rhs, method="dense")
    iterative = evaluate(mdp, policies, rhs, method="iterative")
    np.testing.assert_allclose(iterative, dense, rtol=1e-9, atol=1e-9 * np.abs(dense).max())
    # The solution satisfies its Bellman equation.
    P = oracle.dense(mdp)
    for r in range(3):
        P_pi = oracle.chain(P, policies[r])
        np.testing.assert_allclose(dense[r], rhs[r] + mdp.gamma * P_pi @ dense[r], atol=1e-10)


def test_gridworld_occupancy_sums_with_iterative_solver():
    mdp = make_mdp(FamilySpec(family="gridworld", N=40, macro=10, gamma=0.9, seed=1))
    assert mdp.S > 1024  # 'auto' picks the iterative method here
    d = occupancy(mdp, np.zeros((2, mdp.S), dtype=np.int64))
    np.testing.assert_allclose(d.sum(axis=1), 10.0, rtol=1e-9)


def test_array_module_path_matches_the_cpu_kernel(small_garnet, rng):
    """The stacked xp.linalg.solve path CuPy runs on the GPU, with NumPy standing in."""
    mdp = small_garnet
    policies = random_policies(mdp, 7, rng)
    rhs = rng.normal(size=(7, mdp.S))
    for adjoint in (False, True):
        np.testing.assert_allclose(evaluate(mdp, policies, rhs, adjoint=adjoint, method="dense-array"),
                                   evaluate(mdp, policies, rhs, adjoint=adjoint, method="dense"),
                                   rtol=1e-10, atol=1e-12)
