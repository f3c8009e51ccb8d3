"""Abbeel & Ng (2004) apprenticeship learning: projection and max-margin, batched over rows.

Section 3 of the paper, as specified in docs/method.md. With mu_bar_0 = mu(pi_0) for the
uniform random pi_0, iteration i = 1, 2, ... computes

    w_i = mu_hat_E - mu_bar_{i-1},   t_i = ||w_i||_2,   stop when t_i <= eps / 2;
    pi_i = optimal policy for reward w_i . phi,   mu_i = mu(pi_i) (exact);
    projection:  mu_bar_i = mu_bar_{i-1} + [(mu_i - mu_bar_{i-1}) . w_i / ||mu_i - mu_bar_{i-1}||^2]
                                           (mu_i - mu_bar_{i-1})
    max-margin:  mu_bar_i = the point of conv{mu_0, ..., mu_i} closest to mu_hat_E, which is the
                 margin step's solution (w_{i+1} = mu_hat_E - mu_bar_i, t_{i+1} = its norm).

The output is the mixture of pi_0..pi_n whose mu_tilde is the min-norm point of
conv{mu_0..mu_n} relative to mu_hat_E. At most ``max_iter`` policies are computed; a row whose
t never reaches eps / 2 is not terminated (a failure under every criterion), and its final
mixture is still computed and recorded.

Two amendments to the paper, both defaults:

- ``projection_step="segment"`` clips the projection coefficient to [0, 1], so mu_bar_i stays on the
  segment [mu_bar_{i-1}, mu_i] and hence in the hull. When mu_hat_E is achievable the
  coefficient is already in [0, 1] (pi_i is a best response, so (mu_i - mu_bar) . (mu_hat_E -
  mu_i) <= 0 up to the solver's slack), and nothing changes; when it is not, the paper's
  ``line`` step can overshoot (coefficients up to 1.9 measured), mu_bar leaves the hull and a
  row can stop at t <= eps/2 while its output is farther than eps/2 from mu_hat_E.
- ``certificate=True`` stops a row as soon as it is proven never to terminate
  (:mod:`.certificate`): outcome ``certified``, a failure under every criterion, as a row at
  the cap is. It is valid only while mu_bar stays in the hull: not with ``projection_step="line"``.

Rows are independent problems (one per replicate and checkpoint): each step is one batched call
over the rows still running. A row whose mu_bar stops changing exactly is stalled: its
iterations would repeat identically up to the cap. With the certificate it is certified at
once; without, it is recorded as undecided with iterations = max_iter, as if run to the cap.
"""

from __future__ import annotations


from ..backend import array_module
from ..solve import (feature_error, feature_expectations, optimal_policy, optimality_gap,
                     uniform_policy)
from .certificate import DEFAULT_PROJECTION_STEP, distance_lower_bound
from .hulls import HullPoints
from ..backend import to_numpy
from ..errors import InputError
from .result import CERTIFIED, DEFAULT_CAP, TERMINATED, UNDECIDED, LearnResult


def projection(mdp, mu_hat, eps, *, max_margin=False, max_iter=DEFAULT_CAP,
               projection_step=DEFAULT_PROJECTION_STEP,
               certificate=True, progress=None):
    """Run the projection (or max-margin) learner on every row of mu_hat: (N, k) float64
    estimates of mu_E. projection_step: "segment" | "line" (projection only); certificate: stop rows proven
    never to terminate (not with the line step). progress: optional callable(iteration,
    rows_still_running). Returns a :class:`LearnResult`.
    """
    if certificate and projection_step == "line" and not max_margin:
        raise InputError("certificate", "needs mu_bar in the hull: the segment step", "on")
    xp = array_module(mu_hat)
    N, k = mu_hat.shape
    mu0 = feature_expectations(mdp, uniform_policy(mdp))[0]
    f_err = feature_error(mdp) if certificate else 0.0
    # The hulls' points stay on the host, where Wolfe's method reads them (max-margin every
    # iteration): on a GPU they would fill (N, max_iter, k) of its memory and cross the bus
    # whole each time; this way only each iteration's mu_i crosses.
    hulls = HullPoints(to_numpy(mu0), N)
    mu_bar = xp.broadcast_to(mu0, (N, k)).copy()
    policies = xp.zeros((N, mdp.S), dtype=xp.int64)
    last_values = xp.zeros((N, mdp.S))
    iterations = xp.zeros(N, dtype=xp.int64)
    outcome = xp.full(N, UNDECIDED, dtype=xp.int8)
    lower = xp.full(N, -xp.inf)
    t_last = xp.full(N, xp.nan)
    history = []
    active = xp.arange(N)
    for i in range(1, max_iter + 2):
        w = mu_hat[active] - mu_bar[active]
        t = xp.sqrt((w * w).sum(axis=1))
        t_last[active] = t
        column = xp.full(N, xp.nan)
        column[active] = t
        history.append(column)
        stop = t <= eps / 2
        outcome[active[stop]] = TERMINATED
        hulls.settle(to_numpy(active[stop]), to_numpy(mu_hat[active[stop]]))  # their points go
        active, w = active[~stop], w[~stop]
        if progress is not None:
            progress(i, int(active.size))
        if active.size == 0 or i == max_iter + 1:
            break
        # warm starts: the previous iteration's policy and values (its reward moved little)
        pi, values = optimal_policy(mdp, mdp.rewards_of(w),
                                    policy0=policies[active] if i > 1 else None,
                                    values0=last_values[active] if i > 1 else None)
        policies[active] = pi
        last_values[active] = values
        mu_i = feature_expectations(mdp, pi)
        rows = to_numpy(active)
        hulls.add(rows, to_numpy(mu_i))
        iterations[active] = i
        done = xp.zeros(active.size, dtype=bool)
        if certificate:
            lb = distance_lower_bound(w, mu_hat[active], mu_i, optimality_gap(values, mdp.gamma),
                                      f_err)
            lower[active] = xp.maximum(lower[active], lb)
            done = lower[active] > eps / 2
        if not max_margin:
            v = mu_i - mu_bar[active]
            vv = (v * v).sum(axis=1)
            coef = xp.where(vv > 0, (v * w).sum(axis=1) / xp.where(vv > 0, vv, 1.0), 0.0)
            if projection_step == "segment":
                coef = xp.clip(coef, 0.0, 1.0)
            new = mu_bar[active] + coef[:, None] * v
        else:
            _, new = hulls.closest(rows, to_numpy(mu_hat[active]))
            new = xp.asarray(new)
        stalled = (new == mu_bar[active]).all(axis=1)
        mu_bar[active] = new
        if certificate:
            done |= stalled
            outcome[active[done]] = CERTIFIED
        else:
            iterations[active[stalled]] = max_iter
            done = stalled
        hulls.settle(to_numpy(active[done]), to_numpy(mu_hat[active[done]]))
        active = active[~done]
        if active.size == 0:
            break
    mixture, mu_tilde = hulls.results(to_numpy(mu_hat))
    return LearnResult(
        iterations=to_numpy(iterations), outcome=to_numpy(outcome), t=to_numpy(t_last),
        t_history=to_numpy(xp.stack(history, axis=1)), mu_tilde=mu_tilde, mixture=mixture,
        lower_bound=to_numpy(xp.where(lower > -xp.inf, lower, xp.nan)))
