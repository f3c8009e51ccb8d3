"""Real-GPU tests (marker ``gpu``; skipped without CuPy and a CUDA device), and beside each
statistical or tolerance check its planted-bug twin, run on the CPU wherever the suite runs:
the same check fed a result with a known bug must fail, so a GPU pass means something."""

import numpy as np
import pytest

from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.sample import ExpertChain, mu_hat, sample_occupancy, trajectory_law
from mcirl.solve import optimal_policy
from tests.solve.test_evaluate import assert_device_evaluation_within_bounds
from tests.stats_checks import Z_MAX, mean_z, two_proportion_z, z_threshold
from tests.test_sample import truncated_mu

gpu = pytest.mark.gpu


@gpu
@pytest.mark.parametrize("sampler", ["trajectories", "counts"])
def test_gpu_occupancy_is_unbiased(small_garnet, sampler):
    mdp, H = small_garnet, 60
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain = ExpertChain.from_policy(mdp, policy[0])
    occ = sample_occupancy(chain, mdp.gamma, H, [5], 20000, seed=3, sampler=sampler, backend="gpu")
    assert unbiased(mu_hat(occ, mdp.phi, [5]).get()[:, 0], mdp, policy[0], H)


def unbiased(est, mdp, policy, H) -> bool:
    """est: (R, k) estimates of m = 5 trajectories each: no coordinate's mean off the exact
    truncated mu by more than the family-wise p = 1e-6 threshold."""
    return bool(np.abs(mean_z(est, truncated_mu(mdp, policy, H))).max() < z_threshold(mdp.k))


@pytest.mark.parametrize("sampler", ["trajectories", "counts"])
def test_the_unbiasedness_check_fails_a_planted_bias(small_garnet, sampler):
    """The CPU sampler passes; the same draws from another policy's chain (a device that
    indexed the policy wrongly, say) fail."""
    mdp, H = small_garnet, 60
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain = ExpertChain.from_policy(mdp, policy[0])
    occ = sample_occupancy(chain, mdp.gamma, H, [5], 20000, seed=3, sampler=sampler)
    assert unbiased(mu_hat(occ, mdp.phi, [5])[:, 0], mdp, policy[0], H)
    other = ExpertChain.from_policy(mdp, (policy[0] + 1) % mdp.A)
    occ = sample_occupancy(other, mdp.gamma, H, [5], 20000, seed=3, sampler=sampler)
    assert not unbiased(mu_hat(occ, mdp.phi, [5])[:, 0], mdp, policy[0], H)


@gpu
@pytest.mark.parametrize("algorithm", ["projection", "max-margin", "mwal"])
def test_gpu_and_cpu_failure_rates_agree(algorithm):
    mdp = make_mdp(FamilySpec(S=10, A=2, b=3, k=3, gamma=0.8, seed=4))
    assert rates_agree(*(failures(mdp, algorithm, backend, seed) for backend, seed in (("cpu", 1), ("gpu", 2))))


def failures(mdp, algorithm, backend, seed, eps=0.3):
    config = EstimateConfig(m=(8,), eps=eps, reps=1000, max_iter=50, seed=seed, algorithm=algorithm,
                            backend=backend)
    return run_estimate(mdp, config).rows[0].failures


def rates_agree(a: int, b: int) -> bool:
    """Failures of 1000 runs each: the two-proportion z within Z_MAX (two-sided p = 5.7e-7)."""
    return abs(two_proportion_z(a, 1000, b, 1000)) < Z_MAX


def test_the_failure_rate_check_fails_a_planted_tolerance():
    """Two CPU seeds agree; a learner with eps 0.15 in place of 0.3 (a tolerance halved on the
    device, say) does not."""
    mdp = make_mdp(FamilySpec(S=10, A=2, b=3, k=3, gamma=0.8, seed=4))
    right = failures(mdp, "projection", "cpu", 1)
    assert rates_agree(right, failures(mdp, "projection", "cpu", 2))
    assert not rates_agree(right, failures(mdp, "projection", "cpu", 2, eps=0.15))


@gpu
@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_gpu_counts_equal_cpu_counts_on_the_device(lengths):
    mdp = make_mdp(FamilySpec(S=64, A=4, b=3, k=16, gamma=0.95, seed=1))
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain, decay, H = trajectory_law(ExpertChain.from_policy(mdp, policy[0]), mdp.gamma, 221,
                                     lengths)
    kwargs = dict(decay=decay, horizon=H, m_grid=[10, 10**7, 2 * 10**10], reps=4, seed=9,
                  sampler="counts")
    np.testing.assert_array_equal(sample_occupancy(chain, backend="gpu", **kwargs).get(),
                                  sample_occupancy(chain, **kwargs))


def test_count_equality_is_not_vacuous():
    """The counts differ with the seed at every m: equal counts on two backends are the same
    draws, not arrays that come out equal whatever is drawn."""
    mdp = make_mdp(FamilySpec(S=64, A=4, b=3, k=16, gamma=0.95, seed=1))
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain, decay, H = trajectory_law(ExpertChain.from_policy(mdp, policy[0]), mdp.gamma, 221, "truncated")
    kwargs = dict(decay=decay, horizon=H, m_grid=[10, 10**7, 2 * 10**10], reps=4, sampler="counts")
    a, b = sample_occupancy(chain, seed=9, **kwargs), sample_occupancy(chain, seed=10, **kwargs)
    assert all((a[:, i] != b[:, i]).any() for i in range(3))


@gpu
def test_gpu_policy_evaluation_matches_the_cpu_within_its_certified_bounds():
    """CuPy arrays take the numba-cuda kernels (one block per row); the CPU its Numba kernel."""
    import cupy

    mdp = make_mdp(FamilySpec(S=1024, A=4, b=3, k=16, gamma=0.99, seed=1))
    rng = np.random.default_rng(3)
    policies = rng.integers(0, mdp.A, size=(64, mdp.S))
    rhs = rng.random((64, mdp.S))
    assert_device_evaluation_within_bounds(mdp, cupy, policies, rhs, rtol=1e-14)


@gpu
def test_gpu_elbow_fits_equal_the_cpu_fits(rng):
    """The elbow's Newton fits on CuPy (its logaddexp sigmoid, trace-damped system, batched
    solve) against NumPy's: ordinary data, and separable data at the config's limits."""
    import cupy

    from mcirl.elbow.experiment import FEATURE_NOISE_MAX, RIDGE_MIN
    from mcirl.elbow.fit import fit_logistic

    from mcirl.elbow.fit import fit_evidence

    for scale, lam, n in ((1.0, 1.0, 40), (FEATURE_NOISE_MAX, RIDGE_MIN, 3)):
        f = scale * rng.normal(size=(3, n, 4))
        y = np.sign(f @ rng.normal(size=4))
        cpu = fit_logistic(f, y, lam)
        gpu = fit_logistic(cupy.asarray(f), cupy.asarray(y), lam).get()
        assert same_fit(gpu, cpu)
    f = rng.normal(size=(3, 200, 5))
    y = np.where(rng.random((3, 200)) < 0.7, 1.0, -1.0)
    (cpu, cpu_lam, _), (gpu, gpu_lam, _) = fit_evidence(f, y), fit_evidence(cupy.asarray(f), cupy.asarray(y))
    assert same_fit(gpu.get(), cpu) and np.allclose(gpu_lam.get(), cpu_lam, rtol=1e-6)


def same_fit(gpu, cpu) -> bool:
    return bool(np.abs(gpu - cpu).max() <= 1e-6 * np.abs(cpu).max())


def test_the_fit_comparison_fails_a_planted_ridge(rng):
    """A fit with the ridge 1% off (a device that rounded lam, say) is not the same fit."""
    from mcirl.elbow.fit import fit_logistic

    f = rng.normal(size=(3, 40, 4))
    y = np.sign(f @ rng.normal(size=4))
    assert same_fit(fit_logistic(f, y, 1.0), fit_logistic(f, y, 1.0))
    assert not same_fit(fit_logistic(f, y, 1.01), fit_logistic(f, y, 1.0))
