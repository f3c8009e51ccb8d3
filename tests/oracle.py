"""Reference oracle: plain NumPy, slow, obviously correct, written from docs/method.md.

It shares nothing with mcirl's fast paths but the MDP container: dense matrices, linear solves,
value iteration, trajectories walked with NumPy's own generator, and the projection method as a
plain loop with a SciPy min-norm-point solve.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls


def dense(mdp):
    P = np.zeros((mdp.S, mdp.A, mdp.S))
    for s in range(mdp.S):
        for a in range(mdp.A):
            for j in range(mdp.B):
                P[s, a, mdp.nxt[s, a, j]] += mdp.prob[s, a, j]
    return P


def chain(P, policy):
    """P_pi (S, S) of a deterministic (S,) or stochastic (S, A) policy."""
    if policy.ndim == 1:
        return P[np.arange(P.shape[0]), policy]
    return np.einsum("sa,sat->st", policy, P)


def evaluate(P, policy, rhs, gamma, adjoint=False):
    """x solving (I - gamma P_pi) x = rhs (values), or with P_pi^T if adjoint (occupancies)."""
    P_pi = chain(P, policy)
    return np.linalg.solve(np.eye(len(rhs)) - gamma * (P_pi.T if adjoint else P_pi), rhs)


def occupancy(P, policy, d0, gamma):
    return evaluate(P, policy, d0, gamma, adjoint=True)


def mu(P, policy, d0, phi, gamma):
    return phi.T @ occupancy(P, policy, d0, gamma)


def value_iteration(P, r, gamma, tol=1e-13):
    """Optimal values and the first-argmax greedy policy for per-state reward r (S,)."""
    V = np.zeros(len(r))
    while True:
        Q = r[:, None] + gamma * P @ V
        V_new = Q.max(axis=1)
        if np.abs(V_new - V).max() <= tol * (1 - gamma):
            return V_new, Q.argmax(axis=1)
        V = V_new


def sample_mu_hat(P, policy, d0, phi, gamma, H, m, rng):
    """mu_hat_E from m walked trajectories of length H (NumPy's generator, inverse CDF); H None:
    geometric lengths, each trajectory going on after a step with probability gamma, unweighted."""
    P_pi = chain(P, policy)
    cdf = np.cumsum(P_pi, axis=1)
    s = np.searchsorted(np.cumsum(d0), rng.random(m), side="right")
    total = np.zeros(phi.shape[1])
    g = 1.0
    t = 0
    while len(s) and (H is None or t < H):
        total += g * phi[s].sum(axis=0)
        s = np.minimum((rng.random(len(s))[:, None] > cdf[s]).sum(axis=1), len(d0) - 1)
        if H is None:
            s = s[rng.random(len(s)) < gamma]
        else:
            g *= gamma
        t += 1
    return total / m


def closest_point(points, target, weight=1e6):
    """Closest point of conv(points) to target: non-negative least squares with the simplex
    constraint sum(lam) = 1 as a heavily weighted extra row (error ~ 1 / weight)."""
    scale = max(1.0, np.abs(points).max())
    A = np.vstack([points.T, np.full(len(points), weight * scale)])
    lam, _ = nnls(A, np.r_[target, weight * scale], maxiter=50 * len(points))
    return (lam / lam.sum()) @ points


def projection(P, d0, phi, gamma, mu_hat, eps, max_iter, stop=None, segment=False):
    """Abbeel & Ng's projection method, stopping at t <= stop (eps / 2 unless a test plants
    another), with the paper's step or (segment) its coefficient clipped to [0, 1]; returns
    (terminated, mu_tilde)."""
    stop = eps / 2 if stop is None else stop
    S, A, _ = P.shape
    mus = [mu(P, np.full((S, A), 1.0 / A), d0, phi, gamma)]
    mu_bar = mus[0]
    for i in range(1, max_iter + 2):
        w = mu_hat - mu_bar
        if np.linalg.norm(w) <= stop:
            return True, closest_point(np.array(mus), mu_hat)
        if i == max_iter + 1:
            break
        _, policy = value_iteration(P, phi @ w, gamma)
        mu_i = mu(P, policy, d0, phi, gamma)
        mus.append(mu_i)
        v = mu_i - mu_bar
        if v @ v > 0:
            c = (v @ w) / (v @ v)
            mu_bar = mu_bar + (min(max(c, 0.0), 1.0) if segment else c) * v
    return False, closest_point(np.array(mus), mu_hat)


def failures(mdp, m, eps, reps, horizon, rng, max_iter=200, stop=None, segment=False):
    """Failure count under the 'theorem' criterion over reps fresh replicates at m."""
    P = dense(mdp)
    _, expert = value_iteration(P, mdp.phi @ mdp.w, mdp.gamma)
    mu_E = mu(P, expert, mdp.d0, mdp.phi, mdp.gamma)
    count = 0
    for _ in range(reps):
        est = sample_mu_hat(P, expert, mdp.d0, mdp.phi, mdp.gamma, horizon, m, rng)
        done, mu_tilde = projection(P, mdp.d0, mdp.phi, mdp.gamma, est, eps, max_iter, stop,
                                    segment)
        count += not (done and np.abs(mu_tilde - mu_E).max() <= eps)
    return count


def achievable_points(P, d0, phi, gamma):
    """mu of every deterministic policy (A^S, k): the vertices of the achievable set, whose
    hull every policy's mu (stochastic, non-stationary, mixtures) lies in."""
    import itertools

    S, A, _ = P.shape
    return np.array([mu(P, np.array(policy), d0, phi, gamma)
                     for policy in itertools.product(range(A), repeat=S)])


def hull_distance(points, target):
    """||target - closest point of conv(points)||_2 (to ~1e-6 of the scale: closest_point)."""
    return float(np.linalg.norm(closest_point(points, target) - target))


def certified_iteration(mdp, policy, rhs, adjoint=False, x0=None, sweeps=None):
    """The certified iteration of mcirl.solve.evaluate in plain NumPy, all rows at once, with
    its own copy of the bounds (McQueen's for values, the remainder's mass for occupancies):
    what the Numba and CUDA kernels and mcirl.kernels.stopping must agree with. Returns
    x (R, S), err (R,), done (R,)."""
    from mcirl.solve.evaluate import max_sweeps, tolerance
    from mcirl.solve.rows import policy_rows

    nxt_pi, prob_pi = policy_rows(mdp, policy)
    R, S, Bp = prob_pi.shape
    gamma, tol = mdp.gamma, tolerance(mdp.gamma)
    sweeps = max_sweeps(gamma) if sweeps is None else sweeps
    flat = (np.arange(R)[:, None, None] * S + nxt_pi).ravel()
    if adjoint:
        mass = np.abs(rhs).sum(axis=1)
        x, q, scale = rhs.copy(), rhs, 1.0
        for _ in range(sweeps):
            q_next = np.bincount(flat, weights=(prob_pi * q[:, :, None]).ravel(),
                                 minlength=R * S).reshape(R, S)  # P^T q, row by row
            scale *= gamma
            x += scale * q_next
            rest = scale * gamma / (1.0 - gamma)
            err = rest * np.minimum(2.0 * mass, np.abs(q_next - q).sum(axis=1) / (1.0 - gamma))
            q = q_next
            done = err <= tol * mass / (1.0 - gamma)
            if done.all():
                break
        return x + rest * q, err, done
    x = rhs.copy() if x0 is None else x0.copy()
    c = gamma / (1.0 - gamma)
    for _ in range(sweeps):
        Tx = rhs + gamma * (prob_pi * x.ravel()[flat].reshape(R, S, Bp)).sum(axis=2)
        delta = Tx - x
        hi, lo = delta.max(axis=1), delta.min(axis=1)
        x = Tx
        err = c * (hi - lo) / 2
        done = err <= tol * np.abs(x).max(axis=1)
        if done.all():
            break
    return x + (c * (hi + lo) / 2)[:, None], err, done
