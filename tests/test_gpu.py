"""Real-GPU tests (marker ``gpu``; skipped without CuPy and a CUDA device)."""

import numpy as np
import pytest

from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.sample import ExpertChain, mu_hat, sample_occupancy, trajectory_law
from mcirl.solve import optimal_policy
from tests.solve.test_evaluate import assert_device_evaluation_within_bounds
from tests.stats_checks import Z_MAX, mean_z, two_proportion_z, z_threshold
from tests.test_sample import truncated_mu

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("sampler", ["trajectories", "counts"])
def test_gpu_occupancy_is_unbiased(small_garnet, sampler):
    mdp, H = small_garnet, 60
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    chain = ExpertChain.from_policy(mdp, policy[0])
    occ = sample_occupancy(chain, mdp.gamma, H, [5], 20000, seed=3, sampler=sampler, backend="gpu")
    est = mu_hat(occ, mdp.phi, [5]).get()[:, 0]
    assert np.abs(mean_z(est, truncated_mu(mdp, policy[0], H))).max() < z_threshold(mdp.k)


@pytest.mark.parametrize("algorithm", ["projection", "max-margin", "mwal"])
def test_gpu_and_cpu_failure_rates_agree(algorithm):
    mdp = make_mdp(FamilySpec(S=10, A=2, b=3, k=3, gamma=0.8, seed=4))
    rows = {}
    for backend, seed in (("cpu", 1), ("gpu", 2)):
        config = EstimateConfig(m=(8,), eps=0.3, reps=1000, max_iter=50, seed=seed,
                                algorithm=algorithm, backend=backend)
        rows[backend] = run_estimate(mdp, config).rows[0]
    z = two_proportion_z(rows["cpu"].failures, 1000, rows["gpu"].failures, 1000)
    assert abs(z) < Z_MAX


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


def test_gpu_policy_evaluation_matches_the_cpu_within_its_certified_bounds():
    """CuPy arrays take the numba-cuda kernels (one block per row); the CPU its Numba kernel."""
    import cupy

    mdp = make_mdp(FamilySpec(S=1024, A=4, b=3, k=16, gamma=0.99, seed=1))
    rng = np.random.default_rng(3)
    policies = rng.integers(0, mdp.A, size=(64, mdp.S))
    rhs = rng.random((64, mdp.S))
    assert_device_evaluation_within_bounds(mdp, cupy, policies, rhs, rtol=1e-14)


def test_gpu_elbow_fits_equal_the_cpu_fits(rng):
    """The elbow's Newton fits on CuPy (its logaddexp sigmoid, trace-damped system, batched
    solve) against NumPy's: ordinary data, and separable data at the config's limits."""
    import cupy

    from mcirl.elbow.experiment import FEATURE_NOISE_MAX, RIDGE_MIN
    from mcirl.elbow.fit import fit_logistic

    for scale, lam, n in ((1.0, 1.0, 40), (FEATURE_NOISE_MAX, RIDGE_MIN, 3)):
        f = scale * rng.normal(size=(3, n, 4))
        y = np.sign(f @ rng.normal(size=4))
        cpu = fit_logistic(f, y, lam)
        gpu = fit_logistic(cupy.asarray(f), cupy.asarray(y), lam).get()
        assert np.abs(gpu - cpu).max() <= 1e-6 * np.abs(cpu).max()
