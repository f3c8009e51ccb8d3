"""Optimal policies for batches of per-state rewards, by policy iteration (Howard 1960).

Each sweep evaluates the current policies (:mod:`.evaluate`, exactly or with a certified error
e per row) and switches an action only where another improves Q by more than the slack
max(1e-12 (1 + ||V||_inf), 2.5 e). An error e moves a difference of two Q values by at most
2 gamma e < 2.5 e, so every switch is a true improvement: the iteration cannot cycle, is finite
and deterministic (ties keep the current, lowest-index-first action). At the end every row's
Bellman residual max_a Q(s, a) - V(s) is at most slack + 2 e, so V is within that over
(1 - gamma) of V*.
"""

from __future__ import annotations

from ..backend import array_module
from .evaluate import evaluate, feature_expectations, tolerance

IMPROVEMENT_TOLERANCE = 1e-12
#: Slack per unit of certified evaluation error: above 2 gamma (module docstring).
ERROR_SLACK = 2.5
MAX_SWEEPS = 10_000


def q_values(mdp, rewards, values):
    """(R, S, A) Q = r(s) + gamma sum_s' P[s, a, s'] V(s') for rewards, values: (R, S)."""
    R, S = values.shape
    PV = (mdp.transition_matrix @ values.T).T  # (R, S*A)
    return rewards[:, :, None] + mdp.gamma * PV.reshape(R, S, mdp.A)


def bellman_residual(mdp, rewards, values):
    """(R,) max_s [max_a Q(s, a) - V(s)]: 0 exactly at the optimum, negative never for V^pi."""
    return (q_values(mdp, rewards, values).max(axis=2) - values).max(axis=1)


def optimal_policy(mdp, rewards, policy0=None):
    """Deterministic optimal policies and their values for a batch of rewards.

    rewards: (R, S) float64 per-state rewards (any sign); policy0: optional (R, S) int start
    (e.g. the previous learner iteration's policy). Returns policy (R, S) int64, values (R, S).
    """
    xp = array_module(rewards)
    R, S = rewards.shape
    if policy0 is None:
        policy = q_values(mdp, rewards, rewards).argmax(axis=2)
    else:
        policy = policy0.astype(xp.int64, copy=True)
    values = xp.empty((R, S))
    active = xp.arange(R)
    for sweep in range(MAX_SWEEPS):
        pi = policy[active]
        r = rewards[active]
        V, err = evaluate(mdp, pi, r, x0=values[active] if sweep else None, with_error=True)
        values[active] = V
        Q = q_values(mdp, r, V)
        current = xp.take_along_axis(Q, pi[:, :, None], axis=2)[:, :, 0]
        slack = improvement_slack(xp.abs(V).max(axis=1), err)
        improve = Q.max(axis=2) > current + slack[:, None]
        changed = improve.any(axis=1)
        policy[active] = xp.where(improve, Q.argmax(axis=2), pi)
        active = active[changed]
        if active.size == 0:
            return policy, values
    raise RuntimeError("policy iteration did not converge")  # finite in theory: a bug if hit


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
