"""MWAL: the multiplicative-weights apprenticeship learner (Syed & Schapire 2007).

The learner plays the zero-sum game whose payoff to the reward player choosing feature i against
a policy with feature expectations mu is the loss

    G(i, mu) = ((1 - gamma)(mu_i - mu_hat_E_i) + 2) / 4   in [1/4, 3/4] for phi in [0, 1]^k,

with Freund & Schapire's multiplicative weights over the k features (w on the simplex):
beta = 1 / (1 + sqrt(2 ln k / T)), W_{t+1}(i) = W_t(i) beta^{G(i, mu_t)}, where pi_t is the
optimal policy for reward w_t . phi. The output is the uniform mixture of pi_1..pi_T, whose
feature expectations are the mean of mu_1..mu_T. T is Syed & Schapire's iteration count
(:func:`mcirl.bounds.mwal_iterations`) or the cap, whichever is smaller.

The payoff and beta are those of a public MATLAB implementation of the paper, MWAL.m
(``X = ((1-GAMMA).*(M - E) + 2)./4``, ``B = 1./(1 + sqrt(2*log(K)/T))``), checked against it on
2026-11-23; the theorem's constants for T and m were not (see
:func:`mcirl.bounds.mwal_trajectories`).
"""

from __future__ import annotations

import math

import numpy as np

from .. import bounds
from ..backend import array_module
from ..solve import feature_expectations, optimal_policy
from .result import LearnResult, to_numpy


def mwal(mdp, mu_hat, eps, *, max_iter=1000, progress=None):
    """Run MWAL on every row of mu_hat: (N, k) float64. Returns a :class:`LearnResult`."""
    xp = array_module(mu_hat)
    N, k = mu_hat.shape
    T = int(min(max_iter, bounds.mwal_iterations(k, mdp.gamma, eps)))
    beta = 1.0 / (1.0 + math.sqrt(2.0 * math.log(k) / T)) if k > 1 else 1.0
    log_w = xp.zeros((N, k))  # log W_t, kept normalised so it never under- or overflows
    total = xp.zeros((N, k))
    policy = None
    for t in range(1, T + 1):
        w = xp.exp(log_w)
        w /= w.sum(axis=1, keepdims=True)
        policy, _ = optimal_policy(mdp, w @ mdp.phi.T, policy0=policy)
        mu_t = feature_expectations(mdp, policy)
        total += mu_t
        loss = ((1.0 - mdp.gamma) * (mu_t - mu_hat) + 2.0) / 4.0
        log_w += loss * math.log(beta)
        log_w -= log_w.max(axis=1, keepdims=True)
        if progress is not None:
            progress(t, N if t < T else 0)
    mu_tilde = to_numpy(total / T)
    return LearnResult(
        iterations=np.full(N, T, dtype=np.int64), terminated=np.ones(N, dtype=bool),
        t=np.full(N, np.nan), t_history=np.empty((N, 0)), mu_tilde=mu_tilde,
        mixture=[np.full(T, 1.0 / T) for _ in range(N)])
