"""Theory: sample-size, iteration and horizon bounds, as pure vectorised functions.

Every function broadcasts over NumPy arrays (or takes scalars) and returns float64 arrays (or
int64 where the quantity is an integer count). Notation: ``k`` features, discount ``gamma``,
accuracy ``eps``, failure probability ``delta``. As eps (1 - gamma) goes to 0 the bounds go to
+inf quietly (no floating-point warnings: the limit is the right answer) and integer counts
saturate at COUNT_MAX instead of wrapping around; callers that need a finite number check it.
"""

from __future__ import annotations

import functools

import numpy as np

#: Truncation tolerance of the horizon, relative to eps (docs/method.md).
HORIZON_TOLERANCE = 1e-3
#: Where integer counts saturate: the largest float64 below 2^63.
COUNT_MAX = np.nextafter(2.0**63, 0.0)


def _quiet(bound):
    """Bounds are 1/x^2 in small x: a zero or an overflow means +inf, which they return."""
    @functools.wraps(bound)
    def quietly(*args, **kwargs):
        with np.errstate(divide="ignore", over="ignore"):
            return bound(*args, **kwargs)
    return quietly


def _count(x):
    """Whole-number float64 counts as int64, saturating at COUNT_MAX (+inf included)."""
    return np.minimum(x, COUNT_MAX).astype(np.int64)


@_quiet
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


@_quiet
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
    # (1 - 1e-12): k / (0.01)^2 is 400000.00000000006 in floating point, not 400001 iterations
    return _count(np.ceil(k / ((1.0 - gamma) * eps_stop) ** 2 * (1 - 1e-12)))


@_quiet
def horizon(k, gamma, eps):
    """Truncation horizon H of the expert's discounted sums (docs/method.md).

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
    return _count(h)


def seed_table(ks, gammas, eps=0.1, delta=0.05):
    """m_AN for every (gamma, k): a (len(gammas), len(ks)) float64 array (docs/method.md, 'The question')."""
    ks = np.asarray(ks, dtype=np.float64)[None, :]
    gammas = np.asarray(gammas, dtype=np.float64)[:, None]
    return abbeel_ng_trajectories(ks, gammas, eps, delta)


@_quiet
def mwal_iterations(k, gamma, eps):
    """MWAL rounds T with Freund & Schapire's regret at most (1 - gamma) eps / 8.

    Multiplicative weights on k experts with losses in [0, 1] and beta = 1/(1 + sqrt(2 ln k/T))
    have average regret Delta_T <= sqrt(2 ln k / T) + ln k / T (Freund & Schapire 1999). With
    MWAL's loss G = ((1-gamma)(mu_i - mu_hat_i) + 2)/4, a regret Delta_T costs 4 Delta_T/(1-gamma)
    in feature units; we give the learner eps/2 of the eps budget (see
    :func:`mwal_trajectories`), so Delta_T <= (1-gamma) eps / 8, i.e. with x = sqrt(ln k / T):
    sqrt(2) x + x^2 <= c, x = (sqrt(2 + 4c) - sqrt(2)) / 2, T = ceil(ln k / x^2). T = 1 for k = 1.
    Returns int64.
    """
    k, gamma, eps = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (k, gamma, eps)))
    c = (1.0 - gamma) * eps / 8.0
    x = (np.sqrt(2.0 + 4.0 * c) - np.sqrt(2.0)) / 2.0
    # x^2 underflows to 0 for tiny (1 - gamma) eps: the floor keeps ln(1) / x^2 at 0 (T = 1)
    return _count(np.maximum(np.ceil(np.log(k) / np.maximum(x**2, np.finfo(np.float64).tiny)), 1))


@_quiet
def mwal_trajectories(k, gamma, eps, delta):
    """Expert trajectories for MWAL's guarantee w . mu(psi) >= w . mu_E - eps for every w on the
    simplex (Syed & Schapire 2007, Theorem 2: the dimension enters as ln k, not k).

        m_MWAL = 8 / (eps (1 - gamma))^2 * ln(2k / delta)

    Derived here from the paper's proof (the paper itself was not available to this project
    when this was written; check the constant against it): Hoeffding on each (1-gamma) mu_hat_i
    in [0, 1] at accuracy (1-gamma) eps/4 with a union bound over k coordinates and two tails;
    the estimate enters twice (the game's value and the final comparison), eps/4 each, and the
    game-solving error gets eps/2 (:func:`mwal_iterations`).
    """
    k, gamma, eps, delta = (np.asarray(x, dtype=np.float64) for x in (k, gamma, eps, delta))
    return 8.0 / (eps * (1.0 - gamma)) ** 2 * np.log(2.0 * k / delta)


@_quiet
def pinelis_trajectories(k, gamma, eps, delta, radius2=None):
    """Trajectories for ||mu_hat_E - mu_E||_2 <= eps/2 w.p. >= 1 - delta by the vector Hoeffding
    inequality in Hilbert space (Pinelis 1994, Ann. Probab. 22, Theorem 3.5: for bounded
    martingale differences d_j, P(||sum d_j|| >= r) <= 2 exp(-r^2 / (2 sum ||d_j||^2))).

    Each trajectory's scaled sum (1-gamma) sum_t gamma^t phi(s_t) differs from its mean by at
    most sqrt(radius2) in L2: radius2 = k for features in [0, 1]^k (default), 2 for one-hot
    (partition) features, whose sums lie in a simplex. Then, as for m_AN (the proof's
    ||mu_hat - mu_E||_2 <= eps/2 suffices for Theorem 2),

        m_Pinelis = 8 radius2 / (eps (1 - gamma))^2 * ln(2 / delta),

    with no union bound: for one-hot features it does not grow with k at all.
    """
    k, gamma, eps, delta = (np.asarray(x, dtype=np.float64) for x in (k, gamma, eps, delta))
    radius2 = k if radius2 is None else np.asarray(radius2, dtype=np.float64)
    return 8.0 * radius2 / (eps * (1.0 - gamma)) ** 2 * np.log(2.0 / delta)


@_quiet
def regret_trajectories(k, gamma, eps, delta, span=1.0):
    """Dimension-free trajectories for the ``regret`` criterion with one fixed w*.

    Independent of k (the argument only sets the output's shape, like the other bounds).

    w* . (1-gamma) sum_t gamma^t phi(s_t) lies in an interval of length span (1 for w* >= 0
    with ||w*||_1 <= 1, 2 for signed w*), so Hoeffding (1963) gives |w* . (mu_hat - mu_E)| <=
    eps/2 w.p. >= 1 - delta once

        m_regret = 2 span^2 / (eps (1 - gamma))^2 * ln(2 / delta).

    With the learner's ||mu_tilde - mu_hat||_2 <= eps/2 at termination and ||w*||_2 <= 1 this
    gives w* . (mu_E - mu_tilde) <= eps. It does not cover termination itself (mu_hat must be
    within eps/2 of the achievable set).
    """
    k, gamma, eps, delta, span = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (k, gamma, eps, delta, span)))
    return 2.0 * span**2 / (eps * (1.0 - gamma)) ** 2 * np.log(2.0 / delta)


def pinelis_onehot_trajectories(k, gamma, eps, delta):
    """:func:`pinelis_trajectories` for one-hot (partition) features: radius2 = 2, any k."""
    k = np.asarray(k, dtype=np.float64)
    return pinelis_trajectories(k, gamma, eps, delta, radius2=np.full(k.shape, 2.0))


@_quiet
def bernstein_trajectories(k, gamma, eps, delta, variance):
    """Variance-aware trajectories by the empirical Bernstein bound (Maurer & Pontil 2009,
    "Empirical Bernstein bounds and sample variance penalization", Theorem 4): for i.i.d. Z in
    [0, 1] with sample variance V, |mean - E Z| <= sqrt(2 V L / m) + 7 L / (3 (m - 1)) w.p.
    >= 1 - delta', L = ln(2 / delta') per tail. Applied to every coordinate of
    (1-gamma) sum_t gamma^t phi(s_t) with delta' = delta / (2k) (both tails, k coordinates),
    at Abbeel & Ng's per-coordinate accuracy (1-gamma) eps / (2 sqrt(k)):

        the smallest m with sqrt(2 V_max L / m) + 7 L / (3 (m - 1)) <= (1-gamma) eps / (2 sqrt k),
        L = ln(4k / delta), V_max = the largest per-coordinate variance.

    variance: (..., k) measured per-trajectory variances of the scaled sums (in [0, 1/4]).
    Returns float64 (a whole number >= 2), broadcast over the leading axes.
    """
    v = np.max(np.asarray(variance, dtype=np.float64), axis=-1)
    k, gamma, eps, delta, v = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (k, gamma, eps, delta)), v)
    L = np.log(4.0 * k / delta)
    tau = (1.0 - gamma) * eps / (2.0 * np.sqrt(k))

    def ok(m):
        return np.sqrt(2.0 * v * L / m) + 7.0 * L / (3.0 * (m - 1.0)) <= tau

    lo = np.full(v.shape, 2.0)  # the deviation at m is decreasing: bisect on log m
    hi = np.full(v.shape, 4.0)
    while not ok(hi).all():
        hi = np.where(ok(hi), hi, hi * 4.0)
    for _ in range(200):
        mid = np.clip(np.floor(np.sqrt(lo * hi)), lo + 1, np.maximum(hi - 1, lo + 1))
        good = ok(mid)
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
        if (hi - lo <= 1).all():
            break
    return np.where(ok(lo), lo, hi)


#: The bounds mcirl draws and lists: name -> (function of (k, gamma, eps, delta), the
#: criterion it guarantees, a one-line description).
BOUNDS = {
    "abbeel-ng": (abbeel_ng_trajectories, "theorem",
                  "Abbeel & Ng (2004) Thm 2: Hoeffding per coordinate + union bound"),
    "mwal": (mwal_trajectories, "regret",
             "Syed & Schapire (2007): MWAL, dimension as ln k (constant derived)"),
    "pinelis": (pinelis_trajectories, "l2",
                "vector Hoeffding (Pinelis 1994), features in [0,1]^k"),
    "pinelis-onehot": (pinelis_onehot_trajectories, "l2",
                       "vector Hoeffding, one-hot features: dimension-free"),
    "regret": (regret_trajectories, "regret",
               "Hoeffding on w*.mu for one fixed w* >= 0: dimension-free"),
}
