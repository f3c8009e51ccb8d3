"""CPU kernels for policy evaluation, one row (replicate) per thread.

NumPy's stacked ``linalg.solve`` runs its batch on one core and needs (R, S, S) temporaries, and
NumPy's reductions over the few successors of a sparse row cost ~10 ns an entry. These kernels
do each row's work on its own thread: a dense LU, or the certified iteration of
:mod:`mcirl.solve.evaluate`, stopping by the rules of :mod:`.stopping` (which the GPU's
kernels, :mod:`.cuda_solve`, call too).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import njit
from .stopping import occupancy_bound, occupancy_done, values_bound, values_done


@njit(parallel=True)
def solve_deterministic(P, policy, gamma, rhs, adjoint):
    """x_r = (I - gamma P_r)^{-1} rhs_r, or with P_r^T when adjoint, for P_r = P[s, policy[r, s]].

    P: (S, A, S) float64; policy: (R, S) int64; rhs: (R, S) float64. Returns (R, S) float64.
    """
    R, S = policy.shape
    out = np.empty((R, S))
    for r in nb.prange(R):
        M = np.empty((S, S))
        for s in range(S):
            row = P[s, policy[r, s]]
            for t in range(S):
                if adjoint:
                    M[t, s] = -gamma * row[t]
                else:
                    M[s, t] = -gamma * row[t]
        for s in range(S):
            M[s, s] += 1.0
        out[r] = np.linalg.solve(M, rhs[r])
    return out


@njit(parallel=True)
def iterate_values(nxt, prob, gamma, rhs, x0, tol, sweeps):
    """McQueen-bounded iteration of x = rhs + gamma P_r x, each row until its bound is within
    tol ||x||_inf or ``sweeps`` sweeps (see :mod:`mcirl.solve.evaluate`).

    nxt: (R, S, B) int64 and prob: (R, S, B) float64 rows of P_r; rhs, x0: (R, S) float64.
    Returns x: (R, S) float64, err: (R,) float64 sup-norm bounds, done: (R,) bool.
    """
    R, S, B = prob.shape
    out = np.empty((R, S))
    err = np.empty(R)
    done = np.zeros(R, dtype=np.bool_)
    for r in nb.prange(R):
        x = x0[r].copy()
        new = np.empty(S)
        shift = 0.0
        for _ in range(sweeps):
            hi, lo, size = -np.inf, np.inf, 0.0
            for s in range(S):
                acc = 0.0
                for j in range(B):
                    acc += prob[r, s, j] * x[nxt[r, s, j]]
                new[s] = rhs[r, s] + gamma * acc
                delta = new[s] - x[s]
                hi, lo, size = max(hi, delta), min(lo, delta), max(size, abs(new[s]))
            x, new = new, x
            err[r], shift = values_bound(hi, lo, gamma)
            if values_done(err[r], size, tol):
                done[r] = True
                break
        out[r] = x + shift
    return out, err, done


@njit(parallel=True)
def iterate_occupancy(nxt, prob, gamma, rhs, tol, sweeps):
    """d = sum_j gamma^j (P_r^T)^j rhs_r with the remainder extrapolated onto the last term,
    each row until its l1 bound is within tol ||rhs||_1 / (1 - gamma) or ``sweeps`` sweeps.

    nxt, prob: (R, S, B) rows of P_r; rhs: (R, S) float64. Returns d: (R, S) float64,
    err: (R,) float64 l1 bounds, done: (R,) bool.
    """
    R, S, B = prob.shape
    out = np.empty((R, S))
    err = np.empty(R)
    done = np.zeros(R, dtype=np.bool_)
    for r in nb.prange(R):
        x = rhs[r].copy()
        q = rhs[r].copy()
        q_next = np.empty(S)
        mass = np.abs(q).sum()
        scale, rest = 1.0, 0.0
        for _ in range(sweeps):
            q_next[:] = 0.0
            for s in range(S):
                for j in range(B):
                    q_next[nxt[r, s, j]] += prob[r, s, j] * q[s]
            scale *= gamma
            change = 0.0
            for s in range(S):
                x[s] += scale * q_next[s]
                change += abs(q_next[s] - q[s])
            q, q_next = q_next, q
            rest, err[r] = occupancy_bound(scale, gamma, mass, change)
            if occupancy_done(err[r], mass, gamma, tol):
                done[r] = True
                break
        out[r] = x + rest * q
    return out, err, done


@njit(parallel=True)
def improve_policies(nxt, prob, gamma, rewards, values, policy, slack):
    """Policy iteration's improvement step, fused: per row r and state s,
    Q(s, a) = rewards[r, s] + gamma sum_j prob[s, a, j] values[r, nxt[s, a, j]], and the action
    switches to the first argmax of Q only where it beats the current one by more than
    slack[r] (the rule of :mod:`mcirl.solve.plan`).

    nxt: (S, A, B) int64 and prob: (S, A, B) float64 the MDP's rows; rewards, values: (R, S)
    float64; policy: (R, S) int64; slack: (R,) float64. Returns the new policy (R, S) int64 and
    changed (R,) bool.
    """
    R, S = policy.shape
    A, B = nxt.shape[1], nxt.shape[2]
    out = np.empty((R, S), dtype=np.int64)
    changed = np.zeros(R, dtype=np.bool_)
    for r in nb.prange(R):
        for s in range(S):
            best, best_a, current = -np.inf, 0, 0.0
            for a in range(A):
                acc = 0.0
                for j in range(B):
                    acc += prob[s, a, j] * values[r, nxt[s, a, j]]
                q = rewards[r, s] + gamma * acc
                if q > best:
                    best, best_a = q, a
                if a == policy[r, s]:
                    current = q
            if best > current + slack[r]:
                out[r, s] = best_a
                changed[r] = True
            else:
                out[r, s] = policy[r, s]
    return out, changed


@njit(parallel=True)
def gather_rows(nxt, prob, policy):
    """Rows of P_pi for deterministic policies: nxt_pi, prob_pi (R, S, B) from the MDP's nxt,
    prob (S, A, B) and policy (R, S) int64 (what NumPy's fancy indexing builds, in parallel)."""
    R, S = policy.shape
    B = nxt.shape[2]
    nxt_pi = np.empty((R, S, B), dtype=np.int64)
    prob_pi = np.empty((R, S, B))
    for r in nb.prange(R):
        for s in range(S):
            a = policy[r, s]
            for j in range(B):
                nxt_pi[r, s, j] = nxt[s, a, j]
                prob_pi[r, s, j] = prob[s, a, j]
    return nxt_pi, prob_pi
