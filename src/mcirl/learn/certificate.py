"""Certificates that a learner row's outcome is already decided.

Projection and max-margin (Abbeel & Ng 2004, section 3). Iteration i computes pi_i, a best
response to w_i = mu_hat_E - mu_bar_{i-1}: w_i . mu_i >= w_i . mu - g_i for every achievable mu
(g_i: :func:`mcirl.solve.optimality_gap`). By Cauchy-Schwarz, every achievable mu then satisfies

    ||mu_hat_E - mu||_2 >= w_i . (mu_hat_E - mu) / ||w_i||_2 >= (w_i . (mu_hat_E - mu_i) - g_i) / ||w_i||_2,

and computed feature expectations are within f = :func:`mcirl.solve.feature_error` of exact
ones, so LB_i = (w_i . (mu_hat_E - mu_i) - g_i) / ||w_i||_2 - 2 f bounds the distance from
mu_hat_E to the achievable set from below, whatever the run does next. While mu_bar stays in
the hull of the computed mu_j (max-margin always; projection with the ``segment`` step), every
later margin t_j = ||mu_hat_E - mu_bar_{j-1}||_2 is at least that distance, so a row whose
running max of LB_i exceeds eps/2 can never reach t_j <= eps/2: it is *certified*. (With the
paper's unclipped ``line`` step mu_bar can leave the hull and the argument fails.)

MWAL (Syed & Schapire 2007). The game max_psi min_{w in simplex} w . (mu(psi) - mu_hat_E) has
value v*. After t rounds the uniform mixture of pi_1..pi_t has feature expectations
mu_bar_t = mean(mu_1..mu_t) and guarantees v_low = min_i (mu_bar_t - mu_hat_E)_i for every
w on the simplex; each round's best response bounds the value from above,
v* <= max_psi w_s . (mu(psi) - mu_hat_E) <= w_s . (mu_s - mu_hat_E) + g_s, so
v_up = min_{s <= t} of that. The gap v_up - v_low (less the evaluation errors) bounds
v* - v_low: the mixture achieves w . mu_bar >= w . mu_hat_E + v* - gap for every such w.
Syed & Schapire's Theorem 2 spends eps/2 of eps on exactly this game error (in feature units;
:func:`mcirl.bounds.mwal_iterations` converts it to the game's loss units, where it is
(1 - gamma) eps / 8, since G = ((1 - gamma)(mu_i - mu_hat_i) + 2) / 4 scales feature units by
(1 - gamma) / 4), so a row whose gap is at most eps/2 has the theorem's guarantee: it stops.
"""

from __future__ import annotations

from ..backend import array_module

CERTIFICATES = ("on", "off")
PROJECTION_STEPS = ("segment", "line")


def distance_lower_bound(w, mu_hat, mu_i, gap, feature_error):
    """LB_i (n,) of the module docstring.

    w: (n, k) float64 reward weights w_i = mu_hat_E - mu_bar_{i-1}, non-zero rows; mu_hat: (n, k);
    mu_i: (n, k) computed mu of each row's best response; gap: (n,) its optimality gap (value
    units); feature_error: scalar bound on the computed mu's l2 error.
    """
    xp = array_module(w, mu_hat, mu_i)
    norm = xp.sqrt((w * w).sum(axis=1))
    return ((w * (mu_hat - mu_i)).sum(axis=1) - gap) / norm - 2.0 * feature_error


def game_upper_bound(w, mu_t, mu_hat, gap, feature_error):
    """(n,) upper bound on MWAL's game value v* from one round: w (n, k) on the simplex, mu_t
    (n, k) computed mu of its best response, gap (n,) its optimality gap. A simplex w moves by at
    most ||mu error||_inf <= feature_error under an evaluation error."""
    return (w * (mu_t - mu_hat)).sum(axis=1) + gap + feature_error


def duality_gap(v_up, mu_bar, mu_hat, feature_error):
    """(n,) v_up - v_low >= v* - v_low: v_up (n,) the least of the rounds' upper bounds, mu_bar
    (n, k) the uniform mixture's feature expectations, whose guaranteed value against every w
    on the simplex is v_low = min_i (mu_bar - mu_hat)_i, less the evaluation error."""
    return v_up - ((mu_bar - mu_hat).min(axis=1) - feature_error)
