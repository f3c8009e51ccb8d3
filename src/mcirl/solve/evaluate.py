"""Exact policy evaluation, batched over replicates.

For each row r, with P_r = P_{pi_r} (S, S):

    values    : x = rhs + gamma P_r x      (V^pi for rhs = rewards)
    occupancy : d = d0  + gamma P_r^T d    (d_pi = (I - gamma P_pi^T)^{-1} d0, sum = 1/(1-gamma))

and mu(pi) = Phi^T d_pi (docs/method.md).

Method ``dense`` forms the (R, S, S) systems and solves them by LU (exact to rounding). On the
CPU they go through a parallel Numba LU kernel; ``dense-array`` forces the array-module path
(stacked ``xp.linalg.solve``) that CuPy runs on the GPU, so NumPy can stand in for it in tests.

Method ``iterative`` runs the fixed point over the non-zeros of each row only and stops at a
*certified* error bound that looks at the shape of the last step, not only its size, so on a
fast-mixing chain (Garnet, Dirichlet) it stops after ~100 sweeps at gamma = 0.99 where the
contraction bound gamma^n / (1 - gamma) needs ~2800:

- values, McQueen's bounds (MacQueen 1966; Porteus 1971, "Some bounds for discounted sequential
  decision processes", eq. 4): for any x, with Delta = Tx - x and Tx = rhs + gamma P x,
  V - Tx lies componentwise in gamma / (1 - gamma) [min Delta, max Delta]. The estimate is Tx
  moved to the middle of that interval; its sup-norm error is at most
  gamma / (1 - gamma) (max Delta - min Delta) / 2.
- occupancy, the same idea for the adjoint: d = sum_j gamma^j q_j with q_j = (P^T)^j d0. After
  n + 1 terms, the remainder has the known total gamma^{n+1} / (1 - gamma) sum(d0) and, P^T
  being an l1 non-expansion, ||q_j - q_n||_1 <= (j - n) ||q_n - q_{n-1}||_1. Putting the
  remainder on q_n therefore leaves an l1 error of at most
  gamma^{n+1} / (1 - gamma) min(2 ||d0||_1, ||q_n - q_{n-1}||_1 / (1 - gamma)).

A row is done when its bound is at most ``tolerance(gamma)`` times ||x||_inf (values) or
||d0||_1 / (1 - gamma) (occupancy). On the CPU the iteration runs in a Numba kernel, each row
stopping on its own bound, and on the GPU in numba-cuda kernels (:mod:`mcirl.kernels.cuda_solve`,
one block per row); both call the same scalar rules, :mod:`mcirl.kernels.stopping`. A plain
NumPy copy of the iteration is the tests' reference (``tests/oracle.py``).

``auto`` picks per call. Above 1024 states it iterates (dense would not fit). Otherwise it
iterates for at most the sweeps that cost about as much as one dense LU and solves the rows not
yet certified densely, or goes dense at once when that budget is tiny (dense rows, small S).
So a Garnet at S = 1024 costs ~1/50 of an LU and a slowly mixing gridworld about two (1.65-1.9
measured at S = 256).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..kernels import linalg
from .rows import policy_rows

DENSE_MAX_STATES = 1024
#: Memory budget (float64 entries) of one chunk of dense (rows, S, S) systems.
DENSE_CHUNK_ENTRIES = 2**24
#: One dense LU per row costs about S^2 / (ratio B') sweeps of the iterative method (B'
#: non-zeros per row of P_pi). With the CPU kernels on Garnets (b = 3) the ratio measured
#: 11-20, 27-40 and 28-76 at S = 64, 256 and 1024 over several runs on the noisy 2-core VM
#: (`benchmarks/bench_evaluate.py` prints it): at 50 the budget costs 0.2-1.5 LUs. Not yet
#: measured on a GPU.
DENSE_SWEEPS_RATIO = 50
#: ``auto`` solves densely at once when that budget is under this many sweeps (Dirichlet's
#: dense rows, small S): a fast-mixing chain still needs ~40-120 sweeps at gamma = 0.99.
MIN_SWEEPS = 32


def tolerance(gamma: float) -> float:
    """Relative certified error the iterative method stops at: 1e-12, looser for gamma near 1,
    where rounding alone leaves about 2e-16 gamma / (1 - gamma) (50x below this)."""
    return max(1e-12, 1e-14 / (1.0 - gamma))


def max_sweeps(gamma: float) -> int:
    """Twice the sweeps after which even the plain contraction bound is 10x below the
    tolerance: rows still uncertified then are stuck at rounding, not slow."""
    if gamma == 0.0:
        return 2
    return 2 * int(math.log(tolerance(gamma) * (1 - gamma) / 10) / math.log(gamma)) + 10


def policy_matrices(P, policy):
    """(R, S, S) P_pi from dense P: (S, A, S) and policy (R, S) int or (R, S, A) float."""
    xp = array_module(P, policy)
    if policy.ndim == 2:
        return P[xp.arange(P.shape[0])[None, :], policy]
    return xp.einsum("rsa,sat->rst", policy, P)


def _dense(mdp, policy, rhs, adjoint, kernel=True):
    xp = array_module(rhs)
    R, S = rhs.shape
    P = mdp.dense
    if kernel and xp is np and policy.ndim == 2:
        return linalg.solve_deterministic(P, policy.astype(np.int64, copy=False), mdp.gamma,
                                          np.ascontiguousarray(rhs, dtype=np.float64), adjoint)
    out = xp.empty((R, S))
    eye = xp.eye(S)
    step = max(1, DENSE_CHUNK_ENTRIES // (S * S))
    for lo in range(0, R, step):
        P_pi = policy_matrices(P, policy[lo:lo + step])
        if adjoint:
            P_pi = P_pi.transpose(0, 2, 1)
        out[lo:lo + step] = xp.linalg.solve(eye - mdp.gamma * P_pi, rhs[lo:lo + step, :, None])[..., 0]
    return out


def iteration_kernels(xp):
    """The kernels of the certified iteration for arrays of module xp, and the keyword arguments
    they take: Numba's CPU kernels (:mod:`mcirl.kernels.linalg`) for NumPy; for CuPy the
    numba-cuda kernels (:mod:`mcirl.kernels.cuda_solve`: one block per row, every sweep in one
    launch) with outputs and scratch drawn from CuPy's memory pool."""
    if xp is np:
        return linalg, {}
    from ..kernels import cuda_solve

    return cuda_solve, {"empty": xp.empty}


def _iterative(mdp, policy, rhs, adjoint, x0, sweeps, tol=None):
    """The certified iteration of the module docstring, at most ``sweeps`` sweeps, in the
    kernels of :func:`iteration_kernels` (their stopping rules: :mod:`mcirl.kernels.stopping`).

    Returns x: (R, S) float64 estimates, err: (R,) float64 certified bounds (sup norm for
    values, l1 for occupancies) and done: (R,) bool, err within the tolerance (relative,
    ``tolerance(gamma)`` unless given).
    """
    nxt_pi, prob_pi = policy_rows(mdp, policy)
    xp = array_module(prob_pi, rhs)
    tol = tolerance(mdp.gamma) if tol is None else tol
    kernels, device = iteration_kernels(xp)
    if xp is not np:
        nxt_pi, prob_pi = xp.ascontiguousarray(nxt_pi), xp.ascontiguousarray(prob_pi)
    rhs = xp.ascontiguousarray(rhs, dtype=xp.float64)
    if adjoint:
        out = kernels.iterate_occupancy(nxt_pi, prob_pi, mdp.gamma, rhs, tol, sweeps, **device)
    else:
        start = rhs if x0 is None else xp.ascontiguousarray(x0, dtype=xp.float64)
        out = kernels.iterate_values(nxt_pi, prob_pi, mdp.gamma, rhs, start, tol, sweeps, **device)
    return tuple(xp.asarray(a) for a in out)


def evaluate(mdp, policy, rhs, *, adjoint=False, method="auto", x0=None, with_error=False,
             tol=None):
    """Solve the batch of policy-evaluation systems above.

    policy: (R, S) int or (R, S, A) float; rhs: (R, S) float64; x0: optional (R, S) warm start
    for the iterative values; tol: the relative error the iteration stops at (default
    ``tolerance(gamma)``; a looser one serves policy iteration's intermediate sweeps, whose
    error is still certified and returned). Returns x: (R, S) float64, and with ``with_error``
    also err: (R,) float64, a certified bound on each row's error (sup norm for values, l1 for
    occupancies; 0 for rows solved densely, whose error is LU rounding).
    """
    xp = array_module(rhs)
    sweeps, fallback = max_sweeps(mdp.gamma), False
    if method == "auto":
        method = "iterative"
        if mdp.S <= DENSE_MAX_STATES:
            width = mdp.B if policy.ndim == 2 else mdp.A * mdp.B  # non-zeros of a row of P_pi
            budget = mdp.S * mdp.S // (DENSE_SWEEPS_RATIO * width)
            if budget < MIN_SWEEPS:
                method = "dense"
            else:
                sweeps, fallback = min(budget, sweeps), True
    if method in ("dense", "dense-array"):
        x = _dense(mdp, policy, rhs, adjoint, kernel=method == "dense")
        err = xp.zeros(rhs.shape[0])
    else:
        x, err, done = _iterative(mdp, policy, rhs, adjoint, x0, sweeps, tol)
        if not bool(done.all()):
            if not fallback:
                raise RuntimeError("iterative policy evaluation did not reach its tolerance")
            rest = xp.flatnonzero(~done)
            x[rest] = _dense(mdp, policy[rest], rhs[rest], adjoint)
            err[rest] = 0.0
    return (x, err) if with_error else x


def occupancy(mdp, policy, method="auto"):
    """(R, S) discounted state occupancy d_pi of each policy (R, S) int or (R, S, A) float."""
    xp = mdp.xp
    rhs = xp.broadcast_to(mdp.d0, (policy.shape[0], mdp.S))
    return evaluate(mdp, policy, rhs, adjoint=True, method=method)


def feature_error(mdp) -> float:
    """Certified bound on ||mu_computed - mu(pi)||_2 for any policy: the occupancy's l1 error is
    at most tolerance(gamma) / (1 - gamma) (0 after an LU), and ||Phi^T e||_2 <=
    ||e||_1 max_s ||phi(s)||_2."""
    phi_norm = float(mdp.xp.sqrt((mdp.phi * mdp.phi).sum(axis=1)).max())
    return tolerance(mdp.gamma) / (1.0 - mdp.gamma) * phi_norm


def feature_expectations(mdp, policy, method="auto"):
    """(R, k) mu(pi) = Phi^T d_pi, each coordinate in [0, 1/(1-gamma)]."""
    return mdp.features_of(occupancy(mdp, policy, method))
