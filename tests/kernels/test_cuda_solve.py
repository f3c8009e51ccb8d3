"""The certified-evaluation CUDA kernels against the CPU kernels: under numba's simulator in CI
(tiny sizes, 8 threads), on the device where there is one. Reductions and atomic scatters add
in another order, so results agree to rounding, and both stay within their certified bounds."""

import numpy as np
import pytest

from mcirl.kernels import cuda_solve, linalg
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import policy_rows
from mcirl.solve.evaluate import tolerance

THREADS = 8  # the simulator runs one Python thread per CUDA thread


def rows(stochastic, R=3):
    mdp = make_mdp(FamilySpec(S=13, A=3, b=3, k=2, gamma=0.9, seed=6))
    rng = np.random.default_rng(0)
    policy = (rng.dirichlet(np.ones(mdp.A), size=(R, mdp.S)) if stochastic
              else rng.integers(0, mdp.A, size=(R, mdp.S)))
    nxt, prob = policy_rows(mdp, policy)
    return np.ascontiguousarray(nxt), np.ascontiguousarray(prob), mdp.gamma, rng


@pytest.mark.parametrize("stochastic", [False, True])
def test_values_kernel_matches_the_cpu_kernel(stochastic):
    nxt, prob, gamma, rng = rows(stochastic)
    rhs = rng.normal(size=(3, nxt.shape[1]))
    x0 = rng.normal(size=rhs.shape)  # a warm start, as policy iteration passes
    tol = tolerance(gamma)
    gpu = [a.copy_to_host() for a in cuda_solve.iterate_values(nxt, prob, gamma, rhs, x0, tol,
                                                                 10_000, THREADS)]
    cpu = linalg.iterate_values(nxt, prob, gamma, rhs, x0, tol, 10_000)
    assert gpu[2].all() and cpu[2].all()
    np.testing.assert_allclose(gpu[0], cpu[0], rtol=0, atol=4 * tol * np.abs(cpu[0]).max())
    assert (np.abs(gpu[0] - cpu[0]).max(axis=1) <= gpu[1] + cpu[1] + 1e-15).all()


@pytest.mark.parametrize("stochastic", [False, True])
def test_occupancy_kernel_matches_the_cpu_kernel(stochastic):
    nxt, prob, gamma, rng = rows(stochastic)
    rhs = rng.random((3, nxt.shape[1]))
    tol = tolerance(gamma)
    gpu = [a.copy_to_host() for a in cuda_solve.iterate_occupancy(nxt, prob, gamma, rhs, tol,
                                                                    10_000, THREADS)]
    cpu = linalg.iterate_occupancy(nxt, prob, gamma, rhs, tol, 10_000)
    assert gpu[2].all() and cpu[2].all()
    assert (np.abs(gpu[0] - cpu[0]).sum(axis=1) <= gpu[1] + cpu[1] + 1e-14).all()
    np.testing.assert_allclose(gpu[0].sum(axis=1), rhs.sum(axis=1) / (1 - gamma), rtol=1e-11)


def test_a_short_budget_reports_rows_not_done():
    nxt, prob, gamma, rng = rows(False)
    rhs = rng.normal(size=(3, nxt.shape[1]))
    x, err, done = (a.copy_to_host() for a in cuda_solve.iterate_values(
        nxt, prob, gamma, rhs, rhs, tolerance(gamma), 3, THREADS))
    assert not done.any() and (err > tolerance(gamma) * np.abs(x).max(axis=1)).all()


def test_outputs_can_come_from_the_callers_allocator():
    """evaluate passes cupy.empty (its memory pool); np.empty stands in for it here."""
    nxt, prob, gamma, rng = rows(False)
    rhs = rng.normal(size=(3, nxt.shape[1]))
    tol = tolerance(gamma)
    own = cuda_solve.iterate_values(nxt, prob, gamma, rhs, rhs, tol, 10_000, THREADS, empty=np.empty)
    assert all(isinstance(a, np.ndarray) for a in own)
    default = [a.copy_to_host() for a in cuda_solve.iterate_values(nxt, prob, gamma, rhs, rhs, tol,
                                                                     10_000, THREADS)]
    for a, b in zip(own, default):
        np.testing.assert_array_equal(a, b)


def test_an_empty_batch_launches_nothing():
    """A zero-block grid is an invalid launch on a device (the simulator tolerates it, so this
    bites in benchmarks/gpu_session.sh's device run of tests/kernels)."""
    nxt, prob, gamma, _ = rows(False, R=0)
    empty = np.zeros((0, nxt.shape[1]))
    for out in (cuda_solve.iterate_values(nxt, prob, gamma, empty, empty, 1e-12, 10, THREADS),
                cuda_solve.iterate_occupancy(nxt, prob, gamma, empty, 1e-12, 10, THREADS)):
        assert [a.shape for a in out] == [(0, nxt.shape[1]), (0,), (0,)]
