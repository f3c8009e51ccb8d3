"""LPAL: apprenticeship learning by one linear program (Syed, Bowling & Schapire 2008).

Over discounted state-action occupancies x (S*A, >= 0) and a margin B:

    maximise B
    s.t.  sum_a x[s', a] - gamma sum_{s, a} P[s, a, s'] x[s, a] = d0(s')   for every s'
          B <= sum_{s, a} phi_i(s) x[s, a] - mu_hat_E_i                   for every feature i

i.e. the policy whose feature expectations beat mu_hat_E by the largest margin in the worst
feature (the game MWAL solves approximately, solved exactly). The output is the stationary
policy pi(a|s) = x[s, a] / sum_a x[s, a] (uniform where a state is never visited), whose exact
mu equals Phi^T sum_a x[., a]. Solved with SciPy's HiGHS, one LP per row (only the right-hand
side of the feature constraints changes between rows).
"""

from __future__ import annotations

import numpy as np

from ..solve import feature_expectations
from ..backend import to_numpy
from .result import LearnResult, outcomes_from_terminated


def lpal_program(mdp):
    """(c, A_eq, b_eq, A_ub, bounds) of the LP above without mu_hat (b_ub = -mu_hat)."""
    import scipy.sparse  # imported when used, as in lpal: SciPy is slow to import

    S, A, k = mdp.S, mdp.A, mdp.k
    # flow: row s' has +1 at (s', a) for every a, and -gamma P[s, a, s'] at (s, a)
    P = scipy.sparse.csr_matrix(mdp.transition_matrix)  # (S*A, S)
    own = scipy.sparse.kron(scipy.sparse.eye(S), np.ones((1, A)))  # (S, S*A)
    flow = (own - mdp.gamma * P.T).tocsr()
    A_eq = scipy.sparse.hstack([flow, scipy.sparse.csr_matrix((S, 1))]).tocsr()
    phi_sa = np.repeat(mdp.phi, A, axis=0)  # (S*A, k): phi of the state of each pair
    A_ub = scipy.sparse.csr_matrix(np.hstack([-phi_sa.T, np.ones((k, 1))]))
    c = np.zeros(S * A + 1)
    c[-1] = -1.0
    bounds = [(0, None)] * (S * A) + [(None, None)]
    return c, A_eq, np.asarray(mdp.d0, dtype=np.float64), A_ub, bounds


def lpal(mdp, mu_hat, *, progress=None):
    """Solve LPAL for every row of mu_hat: (N, k). Returns a :class:`LearnResult` whose
    mu_tilde is the exact mu of each row's stationary policy."""
    from scipy.optimize import linprog

    mu_hat = to_numpy(mu_hat)
    N, k = mu_hat.shape
    S, A = mdp.S, mdp.A
    c, A_eq, b_eq, A_ub, bounds = lpal_program(mdp)
    policies = np.full((N, S, A), 1.0 / A)
    solved = np.zeros(N, dtype=bool)
    value = np.full(N, np.nan)
    for r in range(N):
        res = linprog(c, A_ub=A_ub, b_ub=-mu_hat[r], A_eq=A_eq, b_eq=b_eq, bounds=bounds,
                      method="highs")
        if res.status == 0:
            x = np.maximum(res.x[:-1].reshape(S, A), 0.0)
            visits = x.sum(axis=1, keepdims=True)
            policies[r] = np.where(visits > 0, x / np.where(visits > 0, visits, 1.0), 1.0 / A)
            solved[r], value[r] = True, res.x[-1]
        if progress is not None:
            progress(r + 1, N - r - 1)
    mu_tilde = to_numpy(feature_expectations(mdp, mdp.xp.asarray(policies)))
    return LearnResult(
        iterations=np.ones(N, dtype=np.int64), outcome=outcomes_from_terminated(solved), t=-value,
        t_history=np.empty((N, 0)), mu_tilde=mu_tilde, mixture=[np.ones(1) for _ in range(N)],
        gap=np.where(solved, 0.0, np.nan))
