"""Certificates that a learner row's outcome is already decided: the failure certificates below,
and the success certificate at the end.

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

#: ``on``: both certificates where they apply; ``failure``: the failure certificates only (what
#: ``on`` meant before the success certificate existed); ``off``: every row runs to its own stop
#: or the cap. ``auto`` (accepted too) is ``on`` wherever it applies and ``off`` with
#: projection's line step, where no certificate is valid.
CERTIFICATES = ("on", "failure", "off")
PROJECTION_STEPS = ("segment", "line")
#: The learner's defaults, wherever a learner is configured (run_learner, estimate, sweep and
#: verify configs, the command line): the clipped step and both certificates. (A cell stored
#: before these options existed ran the line step with no certificate: the store's column
#: defaults say so, mcirl.store.schema.)
DEFAULT_PROJECTION_STEP = "segment"
DEFAULT_CERTIFICATE = "on"
#: Relative slack of the success certificate for rounding in the learner's own stop and in
#: Wolfe's min-norm point (relative 1e-12 of the squared scale): far inside it.
SUCCESS_SLACK = 1e-9


def failure_applies(algorithm: str, step: str) -> bool:
    """Whether the failure certificates can be used: not by LPAL (it solves the game exactly,
    at once), not by projection with the paper's unclipped line step (mu_bar can leave the
    hull)."""
    return algorithm != "lpal" and not (algorithm == "projection" and step == "line")


def success_applies(algorithm: str, step: str) -> bool:
    """Whether the success certificate holds for the learner: projection with the segment step
    (Frank-Wolfe with exact line search, :func:`success_certificate`) and max-margin (the exact
    min-norm point of the hull each iteration)."""
    return algorithm == "max-margin" or (algorithm == "projection" and step == "segment")


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


def success_certificate(mu_hat, mu_E, eps, feature_error):
    """Rows whose success is proven before the learner runs: (assured (N,) bool, margin (N,)
    float64), margin = ||mu_hat_E - mu_E||_2 + 2 f, assured where margin < eps/2 (less a
    relative SUCCESS_SLACK).

    mu_hat: (N, k) float64 estimates of mu_E; mu_E: (k,) float64 computed expert feature
    expectations; feature_error: f, the certified l2 error of any computed mu
    (:func:`mcirl.solve.feature_error`).

    This is Abbeel & Ng's (2004) own argument for Theorem 2, run forwards. The exact mu_E lies
    within f of the computed one, so d = dist(mu_hat_E, achievable set) <= ||mu_hat_E - mu_E||_2
    + f, because mu_E is achievable. Projection with the segment step is Frank-Wolfe with exact
    line search on ||mu - mu_hat_E||^2 / 2 over the achievable set (w_i is minus the gradient,
    pi_i the linear minimiser, the clipped coefficient the exact step), so its margins t_i tend
    to d (Frank & Wolfe 1956; Jaggi 2013, Theorem 1: the objective gap is O(1 / i)); max-margin's
    t_i = ||mu_hat_E - mu_bar_{i-1}|| with mu_bar the hull's closest point falls at least as
    fast. The learner's own points carry the evaluation error f too, the second f of the margin,
    so every row with margin < eps/2 has d < eps/2 with room for its t_i: it terminates, with no
    cap, at some t_n <= eps/2, and its output mu_tilde, the hull point closest to mu_hat_E, has
    ||mu_tilde - mu_E||_2 <= ||mu_tilde - mu_hat_E||_2 + ||mu_hat_E - mu_E||_2 < eps/2 + eps/2.
    That is success under ``l2``, under ``theorem`` (the sup norm is at most the l2 norm) and
    under ``regret`` (w* . (mu_E - mu_tilde) <= ||w*||_2 ||mu_E - mu_tilde||_2, ||w*||_2 <=
    ||w*||_1 <= 1). Such a row is ``assured``: a success whatever the cap, with no learner run.
    """
    xp = array_module(mu_hat)
    diff = mu_hat - mu_E
    margin = xp.sqrt((diff * diff).sum(axis=1)) + 2.0 * feature_error
    return margin < eps / 2 * (1.0 - SUCCESS_SLACK), margin
