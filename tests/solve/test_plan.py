import numpy as np
import pytest

from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import bellman_residual, optimal_policy
from mcirl.solve.plan import q_values
from tests import oracle


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expert_is_optimal(seed):
    mdp = make_mdp(FamilySpec(S=30, A=4, b=3, k=6, features="dense", gamma=0.95, seed=seed))
    rewards = np.stack([mdp.rewards, -mdp.rewards, np.random.default_rng(seed).normal(size=mdp.S)])
    policy, values = optimal_policy(mdp, rewards)
    assert (np.abs(bellman_residual(mdp, rewards, values)) <= 1e-8).all()
    Q = q_values(mdp, rewards, values)
    chosen = np.take_along_axis(Q, policy[:, :, None], axis=2)[:, :, 0]
    assert (Q.max(axis=2) - chosen <= 1e-8).all()  # no improving action
    P = oracle.dense(mdp)
    for r in range(3):
        V_star, _ = oracle.value_iteration(P, rewards[r], mdp.gamma)
        np.testing.assert_allclose(values[r], V_star, atol=1e-9)


def test_warm_start_gives_the_same_values(small_garnet, rng):
    mdp = small_garnet
    rewards = rng.normal(size=(4, mdp.S))
    cold = optimal_policy(mdp, rewards)
    warm = optimal_policy(mdp, rewards, policy0=rng.integers(0, mdp.A, size=(4, mdp.S)))
    np.testing.assert_allclose(warm[1], cold[1], atol=1e-10)


def test_large_gridworld_plans_with_sparse_transitions():
    mdp = make_mdp(FamilySpec(family="gridworld", N=36, macro=6, gamma=0.9, seed=3))
    policy, values = optimal_policy(mdp, mdp.rewards[None])
    assert (np.abs(bellman_residual(mdp, mdp.rewards[None], values)) <= 1e-8).all()


def test_policy_iteration_over_certified_iterative_evaluations():
    """At S = 256 'auto' iterates a Garnet's evaluations; the plan must still be V*."""
    mdp = make_mdp(FamilySpec(S=256, A=4, b=3, k=8, features="dense", gamma=0.99, seed=7))
    rewards = np.stack([mdp.rewards, np.random.default_rng(7).normal(size=mdp.S)])
    policy, values = optimal_policy(mdp, rewards)
    assert (np.abs(bellman_residual(mdp, rewards, values)) <= 1e-9).all()
    P = oracle.dense(mdp)
    for r in range(2):
        V_star, greedy = oracle.value_iteration(P, rewards[r], mdp.gamma)
        np.testing.assert_allclose(values[r], V_star, atol=1e-9 * np.abs(V_star).max())
        np.testing.assert_array_equal(policy[r], greedy)
