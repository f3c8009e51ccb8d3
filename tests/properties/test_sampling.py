"""Properties of the samplers: unbiasedness, invariance under relabelling, CPU vs CUDA."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.mdp import make_mdp
from mcirl.mdp.model import MDP
from mcirl.sample import ExpertChain, _run_units_cpu, _units, mu_hat, sample_occupancy
from mcirl.solve import optimal_policy
from mcirl.verify.strategies import Ranges, cells
from tests.stats_checks import Z_MAX, mean_z, two_proportion_z, z_threshold
from tests.test_sample import truncated_mu

SMALL = Ranges(S=(3, 10), A=(2, 3), b=(2, 3), k=(1, 4), gamma=(0.5, 0.9), eps=(0.3, 1.0))


@pytest.mark.statistical
@given(cells(SMALL), st.sampled_from(["trajectories", "counts"]))
def test_estimator_is_unbiased(cell, sampler):
    mdp = make_mdp(cell.family)
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain = ExpertChain.from_policy(mdp, policy[0])
    H = 30
    est = mu_hat(sample_occupancy(chain, mdp.gamma, H, [3], 3000, seed=5, sampler=sampler),
                 mdp.phi, [3])[:, 0]
    assert np.abs(mean_z(est, truncated_mu(mdp, policy[0], H))).max() < z_threshold(mdp.k)


@pytest.mark.statistical
def test_the_unbiasedness_check_sees_a_planted_bias():
    """The check above rejects a biased target: the same estimates against mu truncated at 10
    steps instead of 30 (a planted horizon error; gamma^10 = 0.35 of the tail is missing)."""
    from mcirl.mdp import FamilySpec

    mdp = make_mdp(FamilySpec(S=8, A=2, b=3, k=3, gamma=0.9, seed=3))
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain = ExpertChain.from_policy(mdp, policy[0])
    est = mu_hat(sample_occupancy(chain, mdp.gamma, 30, [3], 3000, seed=5, sampler="counts"),
                 mdp.phi, [3])[:, 0]
    assert np.abs(mean_z(est, truncated_mu(mdp, policy[0], 30))).max() < z_threshold(mdp.k)
    assert np.abs(mean_z(est, truncated_mu(mdp, policy[0], 10))).max() > z_threshold(mdp.k)


def permute_states(mdp, perm):
    """The same MDP with state s renamed perm[s]."""
    inverse = np.argsort(perm)
    return MDP(nxt=perm[mdp.nxt[inverse]], prob=mdp.prob[inverse], phi=mdp.phi[inverse],
               w=mdp.w, d0=mdp.d0[inverse], gamma=mdp.gamma)


def permute_features(mdp, perm):
    return MDP(nxt=mdp.nxt, prob=mdp.prob, phi=mdp.phi[:, perm], w=mdp.w[perm], d0=mdp.d0,
               gamma=mdp.gamma)


@pytest.mark.statistical
@settings(max_examples=3)
@given(cells(Ranges(S=(4, 8), A=(2, 2), b=(2, 3), k=(2, 4), gamma=(0.6, 0.8), eps=(0.3, 0.6),
                    delta=(0.1, 0.1))), st.randoms(use_true_random=False))
def test_failure_rate_is_invariant_under_relabelling(cell, random):
    mdp = make_mdp(cell.family)
    config = EstimateConfig(m=(2, 8), eps=cell.eps, delta=cell.delta, reps=400, max_iter=60, seed=1)
    base = run_estimate(mdp, config).rows
    states = np.array(random.sample(range(mdp.S), mdp.S))
    features = np.array(random.sample(range(mdp.k), mdp.k))
    for other in (permute_states(mdp, states), permute_features(mdp, features)):
        rows = run_estimate(other, EstimateConfig(**{**config.__dict__, "seed": 2})).rows
        for a, b in zip(base, rows):
            assert abs(two_proportion_z(a.failures, a.reps, b.failures, b.reps)) < Z_MAX


@pytest.mark.statistical
def test_the_relabelling_check_sees_a_planted_change():
    """The same comparison rejects a relabelled run that is not the same problem: features
    permuted in phi but not in w* (a planted relabelling bug) on a fixed cell whose rates are
    far apart; the correct relabelling passes on the same cell."""
    from mcirl.mdp import FamilySpec

    mdp = make_mdp(FamilySpec(S=6, A=2, b=2, k=3, gamma=0.7, seed=11))
    config = EstimateConfig(m=(2, 8), eps=0.4, delta=0.1, reps=400, max_iter=60, seed=1,
                            criterion="regret")
    base = run_estimate(mdp, config).rows
    perm = np.array([2, 0, 1])
    right = run_estimate(permute_features(mdp, perm), EstimateConfig(**{**config.__dict__, "seed": 2})).rows
    wrong_mdp = MDP(nxt=mdp.nxt, prob=mdp.prob, phi=mdp.phi[:, perm], w=mdp.w, d0=mdp.d0,
                    gamma=mdp.gamma)
    wrong = run_estimate(wrong_mdp, EstimateConfig(**{**config.__dict__, "seed": 2})).rows
    assert all(abs(two_proportion_z(a.failures, a.reps, b.failures, b.reps)) < Z_MAX
               for a, b in zip(base, right))
    assert max(abs(two_proportion_z(a.failures, a.reps, b.failures, b.reps))
               for a, b in zip(base, wrong)) > Z_MAX


@settings(max_examples=3)
@given(st.integers(2, 7), st.integers(1, 3), st.integers(0, 1000))
def test_cuda_kernels_agree_with_the_cpu(S, B, seed):
    from mcirl.kernels import cuda as kernels

    rng = np.random.default_rng(seed)
    B = min(B, S)
    nxt = np.stack([rng.choice(S, B, replace=False) for _ in range(S)]).astype(np.int64)
    chain = ExpertChain(nxt=nxt, prob=rng.dirichlet(np.ones(B), size=S), d0=rng.dirichlet(np.ones(S)))
    rep, seg, start, count, stream = _units(np.array([3, 11]), 2, seed, None)
    gpu = kernels.launch_counts(*chain.counts_rows, 0.8, 6, seed, stream, start, start + count,
                                8).copy_to_host()
    cpu = _run_units_cpu("counts", chain, 0.8, 6, seed, stream, start, count, np.zeros((stream.size, S)))
    np.testing.assert_array_equal(gpu, cpu)
    rep, seg, start, count, stream = _units(np.array([5]), 1, seed, 4)
    gpu = kernels.launch_walk(chain.alias, chain.init_alias, 0.8, 6, seed, stream, start, count,
                              S, 8).copy_to_host()
    cpu = _run_units_cpu("trajectories", chain, 0.8, 6, seed, stream, start, count, np.zeros((stream.size, S)))
    np.testing.assert_allclose(gpu, cpu, rtol=1e-13)
