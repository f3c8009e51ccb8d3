"""Theory: sample-size, iteration and horizon bounds, as pure vectorised functions.

Every function broadcasts over NumPy arrays (or takes scalars) and returns float64 arrays (or
int64 where the quantity is an integer count). Notation: ``k`` features, discount ``gamma``,
accuracy ``eps``, failure probability ``delta``.
"""

from __future__ import annotations

import numpy as np

#: Truncation tolerance of the horizon, relative to eps (DESIGN section 2).
HORIZON_TOLERANCE = 1e-3


def abbeel_ng_trajectories(k, gamma, eps, delta):
    """Abbeel & Ng (2004), Theorem 2: expert trajectories sufficient for success w.p. >= 1 - delta.

        m_AN = 2k / (eps (1 - gamma))^2 * ln(2k / delta)

    Hoeffding's inequality on each of the k coordinates of (1 - gamma) mu_hat_E (range [0, 1])
    at accuracy eps (1 - gamma) / (2 sqrt(k)), then a union bound over the k coordinates (the
    factor 2 inside the log is the two-sided tail). Returns a float64 array (not rounded up;
    ``np.ceil`` of it is the smallest sufficient integer m).
    """
    k, gamma, eps, delta = (np.asarray(x, dtype=np.float64) for x in (k, gamma, eps, delta))
    return 2.0 * k / (eps * (1.0 - gamma)) ** 2 * np.log(2.0 * k / delta)


def theorem1_iterations(k, gamma, eps_stop):
    """Iterations of the projection / max-margin learner until ``t_i <= eps_stop``, exact mu_E.

    Abbeel & Ng (2004), Theorem 1 states n = O(k / ((1-gamma)^2 eps^2) log(k / ((1-gamma) eps))).
    Their geometric argument (Appendix A) gives an explicit constant: with d_i the distance from
    mu_E to mu_bar_i and D^2 = k / (1-gamma)^2 the squared diameter of [0, 1/(1-gamma)]^k, each
    step satisfies d_{i+1}^2 <= d_i^2 (1 - d_i^2 / D^2), hence 1/d_{i+1}^2 >= 1/d_i^2 + 1/D^2
    and d_n^2 <= D^2 / n. So at most

        n = ceil(k / ((1 - gamma) eps_stop)^2)

    policies are computed before t <= eps_stop (the log factor of the O(.) statement is not
    needed). The learner stops at eps_stop = eps / 2 (Theorem 2's setting). Valid only when the
    target is an achievable feature expectation (mu_hat_E = mu_E, or inside their convex hull).
    Returns int64.
    """
    k, gamma, eps_stop = (np.asarray(x, dtype=np.float64) for x in (k, gamma, eps_stop))
    return np.ceil(k / ((1.0 - gamma) * eps_stop) ** 2).astype(np.int64)


def horizon(k, gamma, eps):
    """Truncation horizon H of the expert's discounted sums (DESIGN section 2).

    The smallest integer H >= 1 with sqrt(k) gamma^H / (1 - gamma) <= 1e-3 eps: the L2 norm of
    the truncated tail of sum_t gamma^t phi(s_t) is at most sqrt(k) gamma^H / (1 - gamma), so the
    truncation bias of mu_hat_E is below eps / 1000. Returns int64.
    """
    k, gamma, eps = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (k, gamma, eps)))
    target = HORIZON_TOLERANCE * eps * (1.0 - gamma) / np.sqrt(k)

    def holds(h):
        return np.sqrt(k) * gamma ** h / (1.0 - gamma) <= HORIZON_TOLERANCE * eps

    with np.errstate(divide="ignore", invalid="ignore"):
        guess = np.where(gamma > 0, np.ceil(np.log(target) / np.log(gamma)), 1.0)
    h = np.maximum(guess, 1.0)
    # The closed form can be off by one in floating point: settle on the exact smallest H.
    h = np.where((h > 1) & holds(h - 1), h - 1, h)
    h = np.where(holds(h), h, h + 1)
    return h.astype(np.int64)


def seed_table(ks, gammas, eps=0.1, delta=0.05):
    """m_AN for every (gamma, k): a (len(gammas), len(ks)) float64 array (DESIGN section 1)."""
    ks = np.asarray(ks, dtype=np.float64)[None, :]
    gammas = np.asarray(gammas, dtype=np.float64)[:, None]
    return abbeel_ng_trajectories(ks, gammas, eps, delta)
