"""Minimum-norm point of a convex hull (Wolfe 1976), batched over rows with Numba.

``min_norm_points(points, counts, target)`` finds, for each row r, the point of
conv{points[r, :counts[r]]} closest to target[r] and its convex weights lambda. Wolfe's
"Finding the nearest point in a polytope" (Math. Programming 11, 1976) is a finite active-set
method: each major step adds the point most aligned against the current x; minor steps solve the
affine min-norm problem on the active set and drop points whose weight would turn negative.
Tolerances: Z1 = 1e-12 (relative to the largest squared norm) for optimality, Z2 = 1e-10 for
positive weights, as Wolfe recommends.

As in Wolfe's paper (section 4), the points enter only through their Gram matrix G = Q Q^T,
formed once, and the affine problem on the active set A is solved from a lower-triangular L
with L L^T = G_AA + s e e^T, kept up to date as points enter (one triangular solve) and leave
(Givens rotations): O(|A|^2) a step instead of a fresh O(|A|^2 k + |A|^3) solve. The weights of
the affine min-norm point are alpha = u / (e . u) with L L^T u = e, for any s > 0 (the KKT
condition G alpha = lambda e); s = max ||q_j||^2 keeps L as well conditioned as G allows.
L is stored by rows, so both triangular solves and the updates of G x read contiguous memory.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import njit

Z1 = 1e-12
Z2 = 1e-10
#: A point whose new diagonal entry of L is below this (relative to s) is affinely dependent
#: on the active set to rounding: Wolfe's step cannot add it, so the current point is returned.
DEPENDENT = 1e-13


@njit
def _affine_weights(L, n):
    """alpha (n,), sum 1, from L L^T u = e: the min-norm point of the active set's affine hull."""
    y = np.empty(n)
    for i in range(n):  # L y = e, by rows
        acc = 1.0
        for j in range(i):
            acc -= L[i, j] * y[j]
        y[i] = acc / L[i, i]
    for i in range(n - 1, -1, -1):  # L^T u = y, by columns of L^T = rows of L; u overwrites y
        y[i] /= L[i, i]
        for j in range(i):
            y[j] -= L[i, j] * y[i]
    return y / y.sum()


@njit
def _drop(L, active, n, p):
    """Remove active position p of n: shift rows up, re-triangularise with Givens rotations
    of column pairs (L L^T is unchanged by them)."""
    for i in range(p, n - 1):
        active[i] = active[i + 1]
        L[i, :n] = L[i + 1, :n]
    for i in range(p, n - 1):  # L[i, i + 1] is the one entry above the diagonal in row i
        a, b = L[i, i], L[i, i + 1]
        h = np.hypot(a, b)
        c, s = a / h, b / h
        for j in range(i, n - 1):
            t1, t2 = L[j, i], L[j, i + 1]
            L[j, i] = c * t1 + s * t2
            L[j, i + 1] = -s * t1 + c * t2
    L[n - 1, :n] = 0.0
    L[:n, n - 1] = 0.0


@njit
def wolfe_gram(G, cap):
    """Convex weights lambda (n,) of the min-norm point of conv(rows of Q) from G = Q Q^T (n, n),
    with at most ``cap`` active points (k + 1 for points in R^k); ok flag."""
    n = G.shape[0]
    norms = np.empty(n)
    for j in range(n):
        norms[j] = G[j, j]
    scale = max(norms.max(), 1e-300)
    lam = np.zeros(n)
    active = np.empty(cap, np.int64)
    L = np.zeros((cap, cap))
    j0 = np.argmin(norms)
    active[0] = j0
    L[0, 0] = np.sqrt(G[j0, j0] + scale)
    n_active = 1
    lam[j0] = 1.0
    Glam = G[j0].copy()  # Q x for x = Q^T lam: the dot of every point with x
    for _major in range(50 * n + 1000):
        xx = 0.0
        for a in range(n_active):
            xx += lam[active[a]] * Glam[active[a]]
        j = np.argmin(Glam)
        if xx - Glam[j] <= Z1 * scale:
            return lam, True
        for a in range(n_active):
            if active[a] == j:
                return lam, True  # numerically converged: the best point is already active
        if n_active == cap:
            return lam, False
        row = L[n_active]  # L row = G[A, j] + s: the new row of L, solved in place
        for i in range(n_active):
            acc = G[j, active[i]] + scale
            for m in range(i):
                acc -= L[i, m] * row[m]
            row[i] = acc / L[i, i]
        diag = G[j, j] + scale - np.dot(row[:n_active], row[:n_active])
        if diag <= DEPENDENT * scale:
            row[:n_active] = 0.0
            return lam, True
        row[n_active] = np.sqrt(diag)
        active[n_active] = j
        n_active += 1
        while True:  # minor cycle
            alpha = _affine_weights(L, n_active)
            if alpha.min() > Z2:
                for a in range(n_active):
                    lam[active[a]] = alpha[a]
                break
            theta = 1.0
            for a in range(n_active):
                la = lam[active[a]]
                if alpha[a] <= Z2 and la - alpha[a] > 0:
                    theta = min(theta, la / (la - alpha[a]))
            for a in range(n_active):
                i = active[a]
                lam[i] = theta * alpha[a] + (1.0 - theta) * lam[i]
            for a in range(n_active - 1, -1, -1):  # from the back: positions stay valid
                if lam[active[a]] <= Z2:
                    lam[active[a]] = 0.0
                    _drop(L, active, n_active, a)
                    n_active -= 1
            total = 0.0
            for a in range(n_active):
                total += lam[active[a]]
            for a in range(n_active):
                lam[active[a]] /= total
            if n_active == 1:
                lam[active[0]] = 1.0
                break
        Glam[:] = 0.0
        for a in range(n_active):
            Glam += lam[active[a]] * G[active[a]]  # a row: G is symmetric, rows are contiguous
    return lam, False


@njit
def wolfe(Q):
    """Convex weights lambda (n,) of the min-norm point of conv(rows of Q (n, k)); ok flag."""
    n, k = Q.shape
    return wolfe_gram(Q @ Q.T, min(n, k + 1))


@njit(parallel=True)
def min_norm_points(points, counts, target):
    """Closest points of convex hulls to targets, one row at a time in parallel.

    points: (N, n, k) float64, row r uses points[r, :counts[r]]; counts: (N,) int64 >= 1;
    target: (N, k). Returns lam: (N, n) convex weights (0 beyond counts[r]), closest: (N, k)
    = lam @ points, converged: (N,) bool.
    """
    N, n, k = points.shape
    lam = np.zeros((N, n))
    closest = np.empty((N, k))
    converged = np.empty(N, np.bool_)
    for r in nb.prange(N):
        c = counts[r]
        Q = points[r, :c] - target[r]
        weights, ok = wolfe(Q)
        lam[r, :c] = weights
        closest[r] = weights @ points[r, :c]
        converged[r] = ok
    return lam, closest, converged
