"""Exact mean and covariance of one expert trajectory's feature sum, without sampling.

mcirl's estimate of mu_E is the mean of m i.i.d. trajectory sums G (:mod:`mcirl.sample`), so
sqrt(m) (mu_hat_E - E G) is approximately N(0, Sigma), Sigma = Cov(G): (k, k). Sigma is what
the Abbeel-Ng bound replaces by a worst case (:mod:`mcirl.ladder`). With P the policy's chain
(S, S), Phi (S, k), d_t = (P^T)^t d0 the law of s_t, and V = (I - gamma P)^{-1} Phi:

**Truncated lengths** (H steps, visits weighted gamma^t): G = sum_{t<H} gamma^t phi(s_t), so

    E G G^T = sum_{t<H} gamma^{2t} Phi^T diag(d_t) Phi
            + sum_{t<u<H} gamma^{t+u} (Phi^T diag(d_t) P^{u-t} Phi + its transpose),

since E[phi(s_t) phi(s_u)^T] = sum_s d_t(s) phi(s) (P^{u-t} Phi)(s)^T for t < u (Markov
property). The double sum is accumulated forward, with F_u = sum_{t<u} gamma^t (P^T)^{u-t}
diag(d_t) Phi (S, k): F_0 = 0 and F_{u+1} = P^T (F_u + gamma^u diag(d_u) Phi); then the cross
term is (sum_{u<H} gamma^u F_u)^T Phi. Cost H (nnz(P) k + S k) + S k^2 (H ~ 1,700 at gamma =
0.99: seconds at S = 1024, k = 1000). E G = Phi^T sum_{t<H} gamma^t d_t.

**Geometric lengths** (L steps, P(L > t) = gamma^t independent of the chain, visits weighted
1): G = sum_{t<L} phi(s_t). A pair (t, u) is in the sum with probability gamma^{max(t, u)}, so
with c = sum_t gamma^t d_t = (I - gamma P^T)^{-1} d0 (the occupancy) and
sum_{j>=1} gamma^j P^j Phi = gamma P V,

    E G G^T = Phi^T diag(c) Phi + gamma (Phi^T diag(c) P V + (P V)^T diag(c) Phi),

and E G = Phi^T c = mu_E (the estimator is unbiased). **Infinite discounted sums**
(H = infinity, the truncated law's limit) have the same form with c = (I - gamma^2 P^T)^{-1}
d0: the diagonal pairs carry gamma^{2t} and a pair t < u = t + j carries gamma^{2t} gamma^j.
Their cost is k + 1 certified policy evaluations (:func:`mcirl.solve.evaluate`), O(nnz(P) k)
per sweep, and S k^2.

Sigma = E G G^T - E G E G^T, symmetrised. Every function is batched over R policies and runs on
NumPy or CuPy (the module of the MDP's arrays).
"""

from __future__ import annotations

from dataclasses import replace

from ..backend import sparse_module
from ..errors import check_choice
from .cone import feature_values
from .evaluate import occupancy
from .rows import policy_rows

LENGTH_LAWS = ("truncated", "geometric", "infinite")


def chain_matrix(mdp, policy, transpose=False):
    """(R S, R S) CSR block-diagonal matrix of the R chains P_pi (row r S + s = P_pi_r[s]), or
    of their transposes, for policy: (R, S) int or (R, S, A) float."""
    xp = mdp.xp
    nxt, prob = policy_rows(mdp, policy)
    R, S, B = prob.shape
    rows = xp.repeat(xp.arange(R * S), B)
    cols = (nxt + (xp.arange(R) * S)[:, None, None]).ravel()
    if transpose:
        rows, cols = cols, rows
    return sparse_module(xp).coo_matrix((prob.ravel(), (rows, cols)), shape=(R * S, R * S)).tocsr()


def trajectory_moments(mdp, policy, lengths="truncated", horizon=None):
    """Mean and covariance of one trajectory's feature sum G under each policy (module docstring).

    policy: (R, S) int or (R, S, A) float; lengths: one of LENGTH_LAWS ("truncated" needs
    ``horizon``, H >= 1). Returns mean: (R, k) float64 E G and cov: (R, k, k) float64 Sigma,
    symmetric positive semi-definite up to rounding.
    """
    check_choice("lengths", lengths, LENGTH_LAWS)
    if lengths == "truncated":
        mean, second = _truncated(mdp, policy, int(horizon))
    else:
        mean, second = _solved(mdp, policy, geometric=lengths == "geometric")
    cov = second - mean[:, :, None] * mean[:, None, :]
    return mean, (cov + cov.transpose(0, 2, 1)) / 2


def _truncated(mdp, policy, H):
    xp, phi, gamma = mdp.xp, mdp.phi, mdp.gamma
    R, S, k = policy.shape[0], mdp.S, mdp.k
    back = chain_matrix(mdp, policy, transpose=True)
    d = xp.tile(mdp.d0, R)  # (R S,) d_t, stacked
    F = xp.zeros((R * S, k))
    cross = xp.zeros((R * S, k))  # sum_u gamma^u F_u
    c = xp.zeros(R * S)  # sum_t gamma^2t d_t
    visits = xp.zeros(R * S)  # sum_t gamma^t d_t
    stacked = xp.tile(phi, (R, 1))
    weight = 1.0
    for _ in range(H):
        cross += weight * F
        c += weight * weight * d
        visits += weight * d
        F = back @ (F + (weight * d)[:, None] * stacked)
        d = back @ d
        weight *= gamma
    second = _blocks(stacked, c[:, None] * stacked, R) + _both(_blocks(cross, stacked, R))
    return _blocks(visits[:, None], stacked, R)[:, 0], second


def _solved(mdp, policy, geometric):
    xp, phi, gamma = mdp.xp, mdp.phi, mdp.gamma
    R, S, k = policy.shape[0], mdp.S, mdp.k
    square = mdp if geometric else replace(mdp, gamma=gamma * gamma)
    c = occupancy(square, policy).reshape(R * S)
    V = feature_values(mdp, policy).reshape(R * S, k)
    PV = chain_matrix(mdp, policy) @ V
    stacked = xp.tile(phi, (R, 1))
    weighted = c[:, None] * stacked
    second = _blocks(stacked, weighted, R) + gamma * _both(_blocks(weighted, PV, R))
    visits = c.reshape(R, S) if geometric else occupancy(mdp, policy)
    return mdp.features_of(visits), second


def _blocks(a, b, R):
    """(R, p, q) a_r^T b_r for a: (R S, p), b: (R S, q) stacked by policy."""
    return a.reshape(R, -1, a.shape[1]).transpose(0, 2, 1) @ b.reshape(R, -1, b.shape[1])


def _both(x):
    """x + x^T for a batch (R, k, k)."""
    return x + x.transpose(0, 2, 1)
