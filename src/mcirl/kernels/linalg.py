"""CPU kernel for the dense policy-evaluation systems: one LU solve per row, in parallel.

NumPy's stacked ``linalg.solve`` runs its batch on one core and needs (R, S, S) temporaries;
this kernel forms each row's I - gamma P_pi in a private buffer and solves it on its own thread.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(parallel=True, cache=True)
def solve_deterministic(P, policy, gamma, rhs, adjoint):
    """x_r = (I - gamma P_r)^{-1} rhs_r, or with P_r^T when adjoint, for P_r = P[s, policy[r, s]].

    P: (S, A, S) float64; policy: (R, S) int64; rhs: (R, S) float64. Returns (R, S) float64.
    """
    R, S = policy.shape
    out = np.empty((R, S))
    for r in nb.prange(R):
        M = np.empty((S, S))
        for s in range(S):
            row = P[s, policy[r, s]]
            for t in range(S):
                if adjoint:
                    M[t, s] = -gamma * row[t]
                else:
                    M[s, t] = -gamma * row[t]
        for s in range(S):
            M[s, s] += 1.0
        out[r] = np.linalg.solve(M, rhs[r])
    return out
