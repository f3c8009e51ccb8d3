"""A policy's Markov chain P_pi[s, s'] = sum_a pi(a|s) P[s, a, s'] as fixed-width rows."""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..kernels import linalg


def policy_rows(mdp, policy):
    """Rows of P_pi for a batch of policies.

    policy: (R, S) int deterministic actions, or (R, S, A) float action probabilities.
    Returns nxt_pi: (R, S, B') int64 and prob_pi: (R, S, B') float64, with B' = B for
    deterministic and A*B for stochastic policies (slot order: action-major).
    """
    xp = array_module(policy, mdp.nxt)
    if policy.ndim == 2 and xp is np:
        return linalg.gather_rows(mdp.nxt, mdp.prob, policy.astype(np.int64, copy=False))
    if policy.ndim == 2:
        states = xp.arange(mdp.S)[None, :]
        return mdp.nxt[states, policy], mdp.prob[states, policy]
    R, S, A = policy.shape
    nxt = xp.broadcast_to(mdp.nxt.reshape(1, S, A * mdp.B), (R, S, A * mdp.B))
    prob = (policy[..., None] * mdp.prob[None]).reshape(R, S, A * mdp.B)
    return nxt, prob


def uniform_policy(mdp, R: int = 1):
    """(R, S, A) float64: every action with probability 1/A (Abbeel & Ng's pi_0)."""
    xp = mdp.xp
    return xp.full((R, mdp.S, mdp.A), 1.0 / mdp.A)
