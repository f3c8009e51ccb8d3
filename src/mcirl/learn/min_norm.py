"""Minimum-norm point of a convex hull (Wolfe 1976), batched over rows with Numba.

``min_norm_points(points, counts, target)`` finds, for each row r, the point of
conv{points[r, :counts[r]]} closest to target[r] and its convex weights lambda. Wolfe's
"Finding the nearest point in a polytope" (Math. Programming 11, 1976) is a finite active-set
method: each major step adds the point most aligned against the current x; minor steps solve the
affine min-norm problem on the active set and drop points whose weight would turn negative.
Tolerances: Z1 = 1e-12 (relative to the largest squared norm) for optimality, Z2 = 1e-10 for
positive weights, as Wolfe recommends.
"""

from __future__ import annotations

import numba as nb
import numpy as np

Z1 = 1e-12
Z2 = 1e-10


@nb.njit(cache=True)
def _affine_weights(Q, active, n_active):
    """Weights alpha (sum 1) of the min-norm point of the affine hull of Q[active[:n]]."""
    n = n_active
    M = np.zeros((n + 1, n + 1))
    rhs = np.zeros(n + 1)
    for a in range(n):
        for b in range(a, n):
            g = np.dot(Q[active[a]], Q[active[b]])
            M[a, b] = g
            M[b, a] = g
        M[a, n] = 1.0
        M[n, a] = 1.0
    rhs[n] = 1.0
    sol = np.linalg.lstsq(M, rhs, rcond=1e-14)[0]
    return sol[:n]


@nb.njit(cache=True)
def wolfe(Q):
    """Convex weights lambda (n,) of the min-norm point of conv(rows of Q (n, k)); ok flag."""
    n, k = Q.shape
    norms = np.empty(n)
    for j in range(n):
        norms[j] = np.dot(Q[j], Q[j])
    scale = max(norms.max(), 1e-300)
    lam = np.zeros(n)
    active = np.empty(min(n, k + 1) + 1, np.int64)
    j0 = np.argmin(norms)
    active[0] = j0
    n_active = 1
    lam[j0] = 1.0
    x = Q[j0].copy()
    for _major in range(50 * n + 1000):
        dots = Q @ x
        j = np.argmin(dots)
        if np.dot(x, x) - dots[j] <= Z1 * scale:
            return lam, True
        for a in range(n_active):
            if active[a] == j:
                return lam, True  # numerically converged: the best point is already active
        if n_active == active.shape[0]:
            return lam, False
        active[n_active] = j
        n_active += 1
        while True:  # minor cycle
            alpha = _affine_weights(Q, active, n_active)
            if alpha.min() > Z2:
                for a in range(n_active):
                    lam[active[a]] = alpha[a]
                break
            theta = 1.0
            for a in range(n_active):
                la = lam[active[a]]
                if alpha[a] <= Z2 and la - alpha[a] > 0:
                    theta = min(theta, la / (la - alpha[a]))
            kept = 0
            for a in range(n_active):
                i = active[a]
                lam[i] = theta * alpha[a] + (1.0 - theta) * lam[i]
                if lam[i] > Z2:
                    active[kept] = i
                    kept += 1
                else:
                    lam[i] = 0.0
            n_active = kept
            total = 0.0
            for a in range(n_active):
                total += lam[active[a]]
            for a in range(n_active):
                lam[active[a]] /= total
            if n_active == 1:
                lam[active[0]] = 1.0
                break
        x[:] = 0.0
        for a in range(n_active):
            x += lam[active[a]] * Q[active[a]]
    return lam, False


@nb.njit(parallel=True, cache=True)
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
