"""How far an estimate of mu_E may stray before the learner cannot stop: the exact achievable set.

The feature expectations of all policies (stochastic and mixed ones included) are

    K = {Psi rho : rho in D},   D = {rho >= 0 : M rho = d0}   (the occupancy polytope),

over state-action occupancies rho: (S A,), with M = E - gamma P^T the flow constraints (E sums a
state's actions; row s of M rho = d0 says sum_a rho(s, a) = d0(s) + gamma sum_{s', a} P(s | s',
a) rho(s', a)) and Psi = Phi^T E: (k, S A) (Puterman 1994, sec. 6.9; Syed, Bowling & Schapire
2008 use the same polytope for LPAL). K is a compact convex polytope containing mu_E.

The projection and max-margin learners (segment step) keep mu_bar in K and stop once
||mu_hat_E - mu_bar||_2 <= eps / 2, so run long enough they stop iff dist(mu_hat_E, K) <= eps / 2
(the certificate, :mod:`mcirl.learn.certificate`, proves the converse row by row). Under the CLT
mu_hat_E = mu_E + Z / sqrt(m). For a direction z, h(t) = dist(mu_E + t z, K) is convex in t
(the distance to a convex set is convex, composed with an affine map) with h(0) <= eps / 2
(h(0) = 0 for mu_E in K; the truncated sums' mean lies within eps / 1000 of K,
:func:`mcirl.bounds.horizon`), so {t >= 0 : h(t) <= eps / 2} is an interval [0, t*(z)] and
the learner on mu_E + t z fails to stop exactly when t > t*(z).
That t* is one second-order cone program over (t, rho):

    maximise t  subject to  M rho = d0,  rho >= 0,  ||mu_E + t z - Psi rho||_2 <= eps / 2,

so a draw z fails to terminate at m trajectories iff m < 1 / t*(z)^2, i.e. iff eps / t*(z) >
eps sqrt(m): eps / t* is the draw's termination deviation on the scale of
:mod:`mcirl.ladder`, exact where :mod:`.cone`'s tangent cone T gives the lower bound
2 dist(z, T) (for mu_E in K: K lies in mu_E + T, so t* dist(z, T) <= h(t*) = eps / 2). Unlike that one it
depends on eps.

Solved by Clarabel (Goulart & Chen 2024, an interior-point conic solver), one program per draw
with only the t column changing; its cost is dominated by factoring the flow constraints'
random sparsity: about 0.03 s per draw at S A = 1024 (the 16 x 16 gridworld) and 0.4-2 s at
S A = 4096 (a Garnet with S = 1024) on the 2-core development VM.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from ..backend import to_numpy


def occupancy_constraints(mdp):
    """(M, Psi): the flow constraints M: (S, S A) and the feature map Psi: (k, S A) of the
    occupancy polytope (module docstring), sparse CSC, column s A + a for (s, a)."""
    S, A = mdp.S, mdp.A
    E = sparse.kron(sparse.eye(S, format="csc"), np.ones((1, A)), format="csc")
    M = (E - mdp.gamma * to_scipy(mdp.transition_matrix).T).tocsc()
    Psi = (sparse.csc_matrix(to_numpy(mdp.phi).T) @ E).tocsc()
    return M, Psi


def to_scipy(matrix):
    """A SciPy sparse matrix of the MDP's (S A, S) transitions (on the host)."""
    return matrix.get() if hasattr(matrix, "get") else matrix


def reach_scales(mdp, mu_E, Z, radius: float, progress=None, done: int = 0, total=None):
    """(N,) float64 t*(z) for each row z of Z: (N, k): the largest t with dist(mu_E + t z, K)
    <= radius (module docstring); inf where the whole ray stays within radius of K (z = 0), NaN
    where the solver does not converge. mu_E: (k,) the expert's feature expectations (a point
    of K); radius > 0. progress: optional callable(done + rows finished, total)."""
    import clarabel

    M, Psi = occupancy_constraints(mdp)
    S, n = M.shape
    k = Psi.shape[0]
    mu_E = np.asarray(to_numpy(mu_E), dtype=np.float64)
    d0 = np.asarray(to_numpy(mdp.d0), dtype=np.float64)
    fixed = sparse.vstack([sparse.hstack([sparse.csc_matrix((S, 1)), M]),
                           sparse.hstack([sparse.csc_matrix((n, 1)), -sparse.eye(n)])])
    b = np.concatenate([d0, np.zeros(n), [radius], mu_E])
    c = np.zeros(n + 1)
    c[0] = -1.0
    P = sparse.csc_matrix((n + 1, n + 1))
    cones = [clarabel.ZeroConeT(S), clarabel.NonnegativeConeT(n), clarabel.SecondOrderConeT(k + 1)]
    settings = clarabel.DefaultSettings()
    settings.verbose = False
    settings.direct_solve_method = "faer"  # supernodal: 3-6x QDLDL on these fill-heavy KKTs
    out = np.empty(len(Z))
    for i, z in enumerate(np.asarray(Z, dtype=np.float64)):
        # the cone's slack is (radius, mu_E + t z - Psi rho) = b - A x for x = (t, rho)
        soc = sparse.vstack([sparse.csc_matrix((1, n + 1)),
                             sparse.hstack([sparse.csc_matrix(-z[:, None]), Psi])])
        A = sparse.vstack([fixed, soc]).tocsc()
        solution = clarabel.DefaultSolver(P, c, A, b, cones, settings).solve()
        status = str(solution.status)
        if status in ("Solved", "AlmostSolved"):
            out[i] = solution.x[0]
        elif status in ("DualInfeasible", "AlmostDualInfeasible"):  # t unbounded
            out[i] = np.inf
        else:
            out[i] = np.nan
        if progress is not None:
            progress(done + i + 1, total or len(Z))
    return out


def termination_deviations(mdp, mu_E, Z, eps: float, progress=None, done: int = 0, total=None):
    """(N,) float64 eps / t*(z) at radius eps / 2 for each row z of Z: (N, k): the draw fails to
    terminate at m trajectories iff this exceeds eps sqrt(m) (module docstring); 0 for z = 0,
    NaN where the solver does not converge."""
    return eps / reach_scales(mdp, mu_E, Z, eps / 2, progress, done, total)
