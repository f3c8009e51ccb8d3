"""MWAL: the multiplicative-weights apprenticeship learner (Syed & Schapire 2007).

The learner plays the zero-sum game whose payoff to the reward player choosing feature i against
a policy with feature expectations mu is the loss

    G(i, mu) = ((1 - gamma)(mu_i - mu_hat_E_i) + 2) / 4   in [1/4, 3/4] for phi in [0, 1]^k,

with Freund & Schapire's multiplicative weights over the k features (w on the simplex):
beta = 1 / (1 + sqrt(2 ln k / T)), W_{t+1}(i) = W_t(i) beta^{G(i, mu_t)}, where pi_t is the
optimal policy for reward w_t . phi. The output is the uniform mixture of pi_1..pi_T, whose
feature expectations are the mean of mu_1..mu_T. T is Syed & Schapire's iteration count
(:func:`mcirl.bounds.mwal_iterations`) or the cap, whichever is smaller.

With ``certificate=True`` a row stops as soon as its certified duality gap is at most eps/2
(:mod:`.certificate`: the game accuracy the theorem's T buys), outcome ``terminated``; a row
still above it after T rounds is ``terminated`` when T is the theorem's (the theorem's own
guarantee) and ``undecided`` when the cap cut T short. Without the certificate every row runs
T rounds and counts as terminated (the behaviour before certificates: then a cap below the
theorem's T guarantees nothing; :func:`guarantee` says what it does guarantee).

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
from ..solve import feature_error, feature_expectations, optimal_policy, optimality_gap
from .certificate import duality_gap, game_upper_bound
from ..backend import to_numpy
from .result import DEFAULT_CAP, TERMINATED, UNDECIDED, LearnResult


def rounds(k: int, gamma: float, eps: float, max_iter: int) -> int:
    """T: the theorem's rounds (:func:`mcirl.bounds.mwal_iterations`) or the cap if smaller."""
    return int(min(max_iter, bounds.mwal_iterations(k, gamma, eps)))


def guarantee(k: int, gamma: float, T: int) -> float:
    """The game accuracy (feature units) that T rounds guarantee a priori: Freund & Schapire's
    average regret sqrt(2 ln k / T) + ln k / T in loss units, times 4 / (1 - gamma)
    (:func:`mcirl.bounds.mwal_iterations` inverts this at eps/2). 0 for k = 1."""
    regret = math.sqrt(2.0 * math.log(k) / T) + math.log(k) / T
    return 4.0 * regret / (1.0 - gamma)


def mwal(mdp, mu_hat, eps, *, max_iter=DEFAULT_CAP, certificate=True, progress=None):
    """Run MWAL on every row of mu_hat: (N, k) float64. Returns a :class:`LearnResult`."""
    xp = array_module(mu_hat)
    N, k = mu_hat.shape
    T = rounds(k, mdp.gamma, eps, max_iter)
    theorem_T = T == int(bounds.mwal_iterations(k, mdp.gamma, eps))
    beta = 1.0 / (1.0 + math.sqrt(2.0 * math.log(k) / T)) if k > 1 else 1.0
    f_err = feature_error(mdp)
    log_w = xp.zeros((N, k))  # log W_t, kept normalised so it never under- or overflows
    total = xp.zeros((N, k))
    v_up = xp.full(N, xp.inf)
    gap = xp.full(N, xp.inf)
    iterations = xp.full(N, T, dtype=xp.int64)
    outcome = xp.full(N, TERMINATED if theorem_T or not certificate else UNDECIDED, dtype=xp.int8)
    policy = None
    active = xp.arange(N)
    for t in range(1, T + 1):
        w = xp.exp(log_w[active])
        w /= w.sum(axis=1, keepdims=True)
        policy, values = optimal_policy(mdp, mdp.rewards_of(w), policy0=policy)
        mu_t = feature_expectations(mdp, policy)
        total[active] += mu_t
        target = mu_hat[active]
        v_up[active] = xp.minimum(v_up[active], game_upper_bound(
            w, mu_t, target, optimality_gap(values, mdp.gamma), f_err))
        gap[active] = duality_gap(v_up[active], total[active] / t, target, f_err)
        loss = ((1.0 - mdp.gamma) * (mu_t - target) + 2.0) / 4.0
        log_w[active] += loss * math.log(beta)
        log_w[active] -= log_w[active].max(axis=1, keepdims=True)
        if certificate and t < T:
            done = gap[active] <= eps / 2
            iterations[active[done]] = t
            outcome[active[done]] = TERMINATED
            active, policy = active[~done], policy[~done]
        if progress is not None:
            progress(t, int(active.size) if t < T else 0)
        if active.size == 0:
            break
    if certificate:  # the last round's rows reached the gap, or else kept the default outcome
        outcome[gap <= eps / 2] = TERMINATED
    counts = to_numpy(iterations)
    mu_tilde = to_numpy(total) / counts[:, None]
    return LearnResult(
        iterations=counts, outcome=to_numpy(outcome), t=np.full(N, np.nan),
        t_history=np.empty((N, 0)), mu_tilde=mu_tilde,
        mixture=[np.full(c, 1.0 / c) for c in counts], gap=to_numpy(gap))
