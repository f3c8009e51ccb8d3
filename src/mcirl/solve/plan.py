"""Optimal policies for batches of per-state rewards, by policy iteration (Howard 1960).

Each sweep evaluates the current policies (:mod:`.evaluate`, exactly or with a certified error
e per row) and switches an action only where another improves Q by more than the slack
max(1e-12 (1 + ||V||_inf), 2.5 e). An error e moves a difference of two Q values by at most
2 gamma e < 2.5 e, so every switch is a true improvement: the iteration cannot cycle, is finite
and deterministic (ties keep the current, lowest-index-first action). At the end every row's
Bellman residual max_a Q(s, a) - V(s) is at most slack + 2 e, so V is within that over
(1 - gamma) of V*.

Modified policy iteration (Puterman 1994, section 6.5) makes this cheap: sweeps whose policy is
still changing are evaluated only to a loose certified error (LOOSE_TOLERANCE, relative), where
the same slack rule keeps every switch a true improvement; a row is done only after a sweep
certified to tolerance(gamma) switches nothing, so the bound above holds as stated.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..kernels import linalg
from .evaluate import evaluate, feature_expectations, tolerance

IMPROVEMENT_TOLERANCE = 1e-12
#: Slack per unit of certified evaluation error: above 2 gamma (module docstring).
ERROR_SLACK = 2.5
MAX_SWEEPS = 10_000
#: Relative error of policy iteration's intermediate evaluations (:func:`optimal_policy`):
#: enough to rank the actions of a policy that is still changing; the final one is certified
#: to tolerance(gamma).
LOOSE_TOLERANCE = 1e-6


def q_values(mdp, rewards, values):
    """(R, S, A) Q = r(s) + gamma sum_s' P[s, a, s'] V(s') for rewards, values: (R, S)."""
    R, S = values.shape
    PV = (mdp.transition_matrix @ values.T).T  # (R, S*A)
    return rewards[:, :, None] + mdp.gamma * PV.reshape(R, S, mdp.A)


def bellman_residual(mdp, rewards, values):
    """(R,) max_s [max_a Q(s, a) - V(s)]: 0 exactly at the optimum, negative never for V^pi."""
    return (q_values(mdp, rewards, values).max(axis=2) - values).max(axis=1)


def optimal_policy(mdp, rewards, policy0=None, values0=None, loose=LOOSE_TOLERANCE):
    """Deterministic optimal policies and their values for a batch of rewards.

    rewards: (R, S) float64 per-state rewards (any sign); policy0: optional (R, S) int start
    (e.g. the previous learner iteration's policy); values0: optional (R, S) float64 start of
    the first evaluation (e.g. that iteration's values). Returns policy (R, S) int64, values
    (R, S).

    Modified policy iteration (Puterman 1994, section 6.5): the evaluations only have to rank
    actions until the policy settles, so a row's sweeps evaluate to the relative error
    ``loose`` (certified, and the switch rule's slack grows with it, so every switch is still
    a true improvement and the iteration cannot cycle); a row whose policy survives a loose
    sweep is evaluated again to ``tolerance(gamma)``, warm-started, and is done only when that
    certified sweep switches nothing. So the returned values, and the residual and gap of the
    module docstring, are those of today's fully certified iteration. ``loose=None``
    certifies every sweep.
    """
    xp = array_module(rewards)
    R, S = rewards.shape
    if policy0 is None:
        policy = q_values(mdp, rewards, rewards).argmax(axis=2)
    else:
        policy = policy0.astype(xp.int64, copy=True)
    values = xp.empty((R, S)) if values0 is None else values0.astype(xp.float64, copy=True)
    started = values0 is not None
    certified_only = loose is None or loose <= tolerance(mdp.gamma)  # no loose sweep to save
    tight = xp.full(R, certified_only)
    active = xp.arange(R)
    for sweep in range(MAX_SWEEPS):
        pi = policy[active]
        r = rewards[active]
        x0 = values[active] if sweep or started else None
        certify = tight[active]
        V, err = xp.empty(r.shape), xp.empty(active.size)
        for rows, tol in ((xp.flatnonzero(certify), None), (xp.flatnonzero(~certify), loose)):
            if rows.size:
                V[rows], err[rows] = evaluate(mdp, pi[rows], r[rows], tol=tol, with_error=True,
                                              x0=None if x0 is None else x0[rows])
        values[active] = V
        policy[active], changed = improve(mdp, r, V, pi, improvement_slack(xp.abs(V).max(axis=1), err))
        # a settled loose row is certified next; a switched row goes back to loose sweeps
        tight[active] = ~changed | certified_only
        active = active[changed | ~certify]
        if active.size == 0:
            return policy, values
    raise RuntimeError("policy iteration did not converge")  # finite in theory: a bug if hit


def improve(mdp, rewards, values, policy, slack):
    """One improvement step: (new policy (R, S) int64, changed (R,) bool) for rewards, values
    (R, S) float64 and policy (R, S) int: each state switches to the first action maximising Q
    only where it beats the current one by more than slack (R,). On the CPU one fused Numba
    kernel (:func:`mcirl.kernels.linalg.improve_policies`); on CuPy the array expression."""
    xp = array_module(values)
    if xp is np:
        return linalg.improve_policies(mdp.nxt, mdp.prob, mdp.gamma, rewards, values,
                                       policy.astype(np.int64, copy=False), slack)
    Q = q_values(mdp, rewards, values)
    current = xp.take_along_axis(Q, policy[:, :, None], axis=2)[:, :, 0]
    better = Q.max(axis=2) > current + slack[:, None]
    return xp.where(better, Q.argmax(axis=2), policy), better.any(axis=1)


def improvement_slack(norm, err):
    """(R,) how much an action must beat the current one by to be switched to: max(1e-12
    (1 + ||V||_inf), 2.5 e) for values of sup norm ``norm`` and certified error ``err``, both
    (R,) (module docstring)."""
    xp = array_module(norm)
    return xp.maximum(IMPROVEMENT_TOLERANCE * (1.0 + norm), ERROR_SLACK * err)


def optimality_gap(values, gamma):
    """(R,) upper bound on d0 . (V* - V^pi) >= 0 for policies :func:`optimal_policy` returned with
    values (R, S): how far each falls short of the best value any policy (stochastic or
    non-stationary too) reaches for its reward.

    The final sweep's evaluation error is e <= tolerance(gamma) ||V||_inf (0 after an LU), and no
    action improved by more than the slack, so the Bellman residual max_a Q(s, a) - V(s) is at
    most r = max(1e-12 (1 + ||V||), 2.5 e) + 2 e (module docstring). T V <= V + r gives
    V* <= V + r / (1 - gamma) componentwise, and V^pi >= V - e; d0 sums to 1.
    """
    xp = array_module(values)
    norm = xp.abs(values).max(axis=1)
    e = tolerance(gamma) * norm
    residual = improvement_slack(norm, e) + 2.0 * e
    return residual / (1.0 - gamma) + e


def expert(mdp):
    """The expert of docs/method.md: its deterministic optimal policy for R = Phi w*,
    (1, S) int64, and its exact feature expectations mu_E, (k,) float64 (on mdp's module)."""
    policy, _ = optimal_policy(mdp, mdp.rewards[None])
    return policy, feature_expectations(mdp, policy)[0]
