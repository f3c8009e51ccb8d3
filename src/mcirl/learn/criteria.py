"""Success criteria of a learned mixture, computed exactly from mu_tilde and mu_E (docs/method.md)."""

from __future__ import annotations

from ..backend import array_module

CRITERIA = ("theorem", "l2", "regret")


def successes(mu_tilde, mu_E, w, eps):
    """Per-row success under each criterion, before accounting for termination.

    mu_tilde: (N, k) float64 output mixtures' feature expectations; mu_E: (k,); w: (k,) true
    reward weights. Returns {criterion: (N,) bool}:

    - theorem: sup_{||w'||_1 <= 1} |w' . (mu_tilde - mu_E)| = ||mu_tilde - mu_E||_inf <= eps,
      exactly the promise of Abbeel & Ng (2004), Theorem 2;
    - l2: ||mu_tilde - mu_E||_2 <= eps, what their proof establishes;
    - regret: w . (mu_E - mu_tilde) <= eps, the loss on the one true reward.
    """
    xp = array_module(mu_tilde)
    diff = mu_tilde - mu_E
    return {
        "theorem": xp.abs(diff).max(axis=1) <= eps,
        "l2": xp.sqrt((diff * diff).sum(axis=1)) <= eps,
        "regret": -(diff @ w) <= eps,
    }
