"""Exact policy evaluation, batched over replicates.

For each row r, with P_r = P_{pi_r} (S, S):

    values    : x = rhs + gamma P_r x      (V^pi for rhs = rewards)
    occupancy : d = d0  + gamma P_r^T d    (d_pi = (I - gamma P_pi^T)^{-1} d0, sum = 1/(1-gamma))

and mu(pi) = Phi^T d_pi (DESIGN section 2). Method ``dense`` forms the (R, S, S) systems and
solves them by LU (exact to rounding); ``iterative`` runs the fixed point to a certified relative
error <= 1e-10 (the contraction bound gamma/(1-gamma) ||x_{n+1} - x_n||), touching only the
non-zeros of each row, for large S. ``auto`` is dense up to 1024 states. On the CPU the dense
systems go through a parallel Numba LU kernel; ``dense-array`` forces the array-module path
(stacked ``xp.linalg.solve``) that CuPy runs on the GPU, so NumPy can stand in for it in tests.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..kernels.linalg import solve_deterministic
from .rows import policy_rows

DENSE_MAX_STATES = 1024
#: Certified relative error of the iterative method.
TOLERANCE = 1e-10
#: Memory budget (float64 entries) of one chunk of dense (rows, S, S) systems.
DENSE_CHUNK_ENTRIES = 2**24


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
        return solve_deterministic(P, policy.astype(np.int64, copy=False), mdp.gamma,
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


def _iterative(mdp, policy, rhs, adjoint, x0):
    nxt_pi, prob_pi = policy_rows(mdp, policy)
    xp = array_module(prob_pi, rhs)
    R, S, Bp = prob_pi.shape
    gamma = mdp.gamma
    x = rhs.copy() if x0 is None else x0.copy()
    flat = (xp.arange(R)[:, None, None] * S + nxt_pi).ravel()
    # sup norm for values (P_pi contracts it), l1 norm for occupancies (P_pi^T contracts it).
    norm = (lambda v: xp.abs(v).sum(axis=1)) if adjoint else (lambda v: xp.abs(v).max(axis=1))
    factor = gamma / (1.0 - gamma)
    sweeps = 10 * (int(math.log(TOLERANCE * (1 - gamma) / 10) / math.log(gamma)) + 10) if gamma > 0 else 2
    for _ in range(sweeps):
        if adjoint:
            px = xp.bincount(flat, weights=(prob_pi * x[:, :, None]).ravel(),
                             minlength=R * S).reshape(R, S)
        else:
            px = (prob_pi * x.ravel()[flat].reshape(R, S, Bp)).sum(axis=2)
        new = rhs + gamma * px
        done = factor * norm(new - x) <= TOLERANCE * norm(new)
        x = new
        if bool(done.all()):
            return x
    raise RuntimeError("iterative policy evaluation did not reach its tolerance")


def evaluate(mdp, policy, rhs, *, adjoint=False, method="auto", x0=None):
    """Solve the batch of policy-evaluation systems above.

    policy: (R, S) int or (R, S, A) float; rhs: (R, S) float64; x0: optional (R, S) warm start
    for the iterative method. Returns (R, S) float64.
    """
    if method == "auto":
        method = "dense" if mdp.S <= DENSE_MAX_STATES else "iterative"
    if method in ("dense", "dense-array"):
        return _dense(mdp, policy, rhs, adjoint, kernel=method == "dense")
    return _iterative(mdp, policy, rhs, adjoint, x0)


def occupancy(mdp, policy, method="auto"):
    """(R, S) discounted state occupancy d_pi of each policy (R, S) int or (R, S, A) float."""
    xp = mdp.xp
    rhs = xp.broadcast_to(mdp.d0, (policy.shape[0], mdp.S))
    return evaluate(mdp, policy, rhs, adjoint=True, method=method)


def feature_expectations(mdp, policy, method="auto"):
    """(R, k) mu(pi) = Phi^T d_pi, each coordinate in [0, 1/(1-gamma)]."""
    return occupancy(mdp, policy, method) @ mdp.phi
