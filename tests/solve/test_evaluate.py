import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl.kernels.linalg import iterate_occupancy, iterate_values
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import evaluate, feature_expectations, occupancy, policy_rows, uniform_policy
from mcirl.solve.evaluate import tolerance
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


# --- the certified iteration (McQueen's bounds for values, mass extrapolation for occupancies)

FAMILIES = {
    "garnet": FamilySpec(S=64, A=4, b=3, k=4, gamma=0.99, seed=5),
    "gridworld": FamilySpec(family="gridworld", N=6, macro=3, gamma=0.95, seed=0),
    "dirichlet": FamilySpec(family="dirichlet", S=20, A=3, alpha=0.5, k=4, gamma=0.9, seed=2),
}


def exact(mdp, policies, rhs, adjoint):
    P = oracle.dense(mdp)
    return np.stack([oracle.evaluate(P, pi, b, mdp.gamma, adjoint) for pi, b in zip(policies, rhs)])


def assert_certified(mdp, policies, rhs, adjoint, method):
    x, err = evaluate(mdp, policies, rhs, adjoint=adjoint, method=method, with_error=True)
    truth = exact(mdp, policies, rhs, adjoint)
    actual = np.abs(x - truth).sum(axis=1) if adjoint else np.abs(x - truth).max(axis=1)
    scale = np.abs(rhs).sum(axis=1) / (1 - mdp.gamma) if adjoint else np.abs(truth).max(axis=1)
    rounding = 1e-14 * scale / (1 - mdp.gamma)  # the oracle's own LU error
    assert (actual <= err + rounding).all(), (actual, err)
    assert (err <= tolerance(mdp.gamma) * scale * (1 + 1e-9)).all()
    return err


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("method", ["iterative"])
@pytest.mark.parametrize("adjoint", [False, True])
def test_iterative_error_is_within_its_certified_bound(family, method, adjoint, rng):
    mdp = make_mdp(FAMILIES[family])
    policies = random_policies(mdp, 4, rng)
    rhs = np.abs(rng.normal(size=(4, mdp.S))) if adjoint else rng.normal(size=(4, mdp.S))
    assert_certified(mdp, policies, rhs, adjoint, method)
    stochastic = rng.dirichlet(np.ones(mdp.A), size=(4, mdp.S))
    assert_certified(mdp, stochastic, rhs, adjoint, method)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(S=st.integers(1, 24), A=st.integers(1, 3), b=st.integers(1, 4), seed=st.integers(0, 99),
       gamma=st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]), adjoint=st.booleans(),
       signed=st.booleans())
def test_certified_bound_holds_on_random_garnets(S, A, b, seed, gamma, adjoint, signed):
    """Any chain (periodic, reducible, absorbing), any sign of the right-hand side."""
    mdp = make_mdp(FamilySpec(S=S, A=A, b=min(b, S), k=1, gamma=gamma, seed=seed))
    rng = np.random.default_rng(seed)
    policies = random_policies(mdp, 3, rng)
    rhs = rng.normal(size=(3, S)) if signed else rng.random((3, S))
    assert_certified(mdp, policies, rhs, adjoint, "iterative")


def test_the_kernels_agree_with_the_plain_numpy_iteration(rng):
    """The Numba kernels (their stopping rules in mcirl.kernels.stopping) against the oracle's
    own copy of the iteration and its bounds: the same answers, each within the other's bound
    (the oracle sweeps every row until all are done, a kernel row stops on its own)."""
    mdp = make_mdp(FAMILIES["garnet"])
    policies = random_policies(mdp, 5, rng)
    rhs = rng.normal(size=(5, mdp.S))
    for adjoint in (False, True):
        kernel, err = evaluate(mdp, policies, np.abs(rhs) if adjoint else rhs, adjoint=adjoint,
                               method="iterative", with_error=True)
        array, array_err, done = oracle.certified_iteration(
            mdp, policies, np.abs(rhs) if adjoint else rhs, adjoint)
        assert done.all()
        np.testing.assert_allclose(kernel, array, rtol=1e-11, atol=1e-11 * np.abs(array).max())
        gap = np.abs(kernel - array)
        gap = gap.sum(axis=1) if adjoint else gap.max(axis=1)
        assert (gap <= err + array_err + 1e-14 * np.abs(array).max()).all()


def assert_device_evaluation_within_bounds(mdp, cupy, policies, rhs, atol=0.0, rtol=0.0):
    """evaluate on CuPy arrays takes the numba-cuda kernels: device arrays come back, each row
    within the two certified bounds of the CPU kernel's answer x, plus atol + rtol max|x| for
    rounding. Also run by tests/test_gpu.py with the real CuPy."""
    device = mdp.to(cupy)
    for adjoint in (False, True):
        x, err = evaluate(mdp, policies, rhs, adjoint=adjoint, method="iterative", with_error=True)
        gx, gerr = evaluate(device, cupy.asarray(policies), cupy.asarray(rhs), adjoint=adjoint,
                            method="iterative", with_error=True)
        assert isinstance(gx, cupy.ndarray) and isinstance(gerr, cupy.ndarray)
        gap = np.abs(gx.get() - x)
        gap = gap.sum(axis=1) if adjoint else gap.max(axis=1)
        assert (gap <= err + gerr.get() + atol + rtol * np.abs(x).max()).all(), "outside the certified bounds"


def test_device_arrays_take_the_cuda_kernels(fake_cupy, rng):
    """With tests/fake_cupy.py for CuPy and the kernels in the CUDA simulator. gamma = 0.2 keeps
    the simulated sweeps few (~15)."""
    mdp = make_mdp(FamilySpec(S=12, A=3, b=3, k=4, gamma=0.2, seed=3))
    assert_device_evaluation_within_bounds(mdp, fake_cupy, random_policies(mdp, 1, rng),
                                           rng.random((1, mdp.S)), atol=1e-15)


def test_the_device_check_fails_a_planted_discount(fake_cupy, rng, monkeypatch):
    """The check above (and its real-GPU run in tests/test_gpu.py) catches a device whose
    discount is off by 1e-3: its values leave the CPU's certified bounds."""
    from dataclasses import replace

    from mcirl.mdp.model import MDP

    mdp = make_mdp(FamilySpec(S=12, A=3, b=3, k=4, gamma=0.2, seed=3))
    moved = MDP.to
    monkeypatch.setattr(MDP, "to", lambda self, xp: replace(moved(self, xp), gamma=self.gamma * 1.001))
    with pytest.raises(AssertionError, match="outside the certified bounds"):
        assert_device_evaluation_within_bounds(mdp, fake_cupy, random_policies(mdp, 1, rng),
                                               rng.random((1, mdp.S)), atol=1e-15)


def test_fast_mixing_chains_stop_long_before_the_contraction_bound(rng):
    """Garnet at gamma = 0.99: the bounds certify in ~120 sweeps; gamma^n / (1 - gamma) alone
    would need ~2700. 300 sweeps must do for values and occupancies."""
    mdp = make_mdp(FamilySpec(S=256, A=4, b=3, k=4, gamma=0.99, seed=1))
    nxt, prob = policy_rows(mdp, random_policies(mdp, 3, rng))
    rhs = rng.normal(size=(3, mdp.S))
    tol = tolerance(mdp.gamma)
    assert iterate_values(nxt, prob, mdp.gamma, rhs, rhs, tol, 300)[2].all()
    assert iterate_occupancy(nxt, prob, mdp.gamma, np.abs(rhs), tol, 300)[2].all()


def test_auto_iterates_a_garnet_and_solves_slow_or_dense_chains_densely(rng):
    garnet = make_mdp(FamilySpec(S=256, A=4, b=3, k=4, gamma=0.99, seed=1))
    grid = make_mdp(FamilySpec(family="gridworld", N=16, macro=4, gamma=0.99, seed=0))
    dirichlet = make_mdp(FamilySpec(family="dirichlet", S=256, A=2, k=4, gamma=0.99, seed=0))
    for mdp, iterated in ((garnet, True), (grid, False), (dirichlet, False)):
        policies = random_policies(mdp, 3, rng)
        rhs = rng.normal(size=(3, mdp.S))
        x, err = evaluate(mdp, policies, rhs, with_error=True)
        assert (err > 0).all() == iterated and (err == 0).all() != iterated
        np.testing.assert_allclose(x, evaluate(mdp, policies, rhs, method="dense"),
                                   rtol=0, atol=1e-11 * np.abs(x).max())
