"""Why the Abbeel-Ng bound is loose, and what m* to expect instead: pure functions of Sigma.

Abbeel & Ng (2004), Theorem 2's proof bounds the trajectories m that make
||mu_hat_E - mu_E||_2 <= eps/2 likely by four relaxations in a row. With Sigma: (k, k) the
covariance of one trajectory's feature sum (:func:`mcirl.solve.moments.trajectory_moments`),
the central limit theorem gives sqrt(m) (mu_hat_E - mu_E) ~ Z ~ N(0, Sigma), and each step
can be undone on a given MDP, one at a time (the ladder):

0. m_AN = 2k / (eps (1-gamma))^2 ln(2k/delta): Hoeffding with range 1/(1-gamma) per coordinate
   at accuracy eps / (2 sqrt k), union bound over the k coordinates;
1. ``variance``: the Gaussian tail of each coordinate with its own spread, still with the union
   bound: m1 = 4k t^2 / eps^2, t solving sum_i 2 Phibar(t / sqrt(Sigma_ii)) = delta (t =
   z_{1 - delta/(2k)} sqrt(Sigma_ii) when the variances are equal);
2. ``joint``: the joint law of the k correlated errors instead of the union bound:
   m2 = 4k q_inf^2 / eps^2, q_inf the (1 - delta) quantile of ||Z||_inf;
3. ``l2 direct``: the l2 error's own law instead of ||x||_2 <= sqrt(k) ||x||_inf:
   m3 = 4 q_2^2 / eps^2, q_2 the (1 - delta) quantile of ||Z||_2 (the proof's sufficient
   condition ||mu_hat_E - mu_E||_2 <= eps/2 at probability 1 - delta, under the CLT);
4. ``learner's need``: the criterion's own accuracy eps instead of the proof's eps/2 split:
   m4 = q_2^2 / eps^2, the prediction of m* for the l2 criterion.

m_AN / m4 is the product of the four factors. The predictions of m* per criterion
(:func:`predicted_mstar`) take the learner's output mu_tilde to be mu_hat_E: l2 (q_2 / eps)^2,
theorem (q_inf / eps)^2, regret (q_w / eps)^2 with q_w the (1 - delta) quantile of -w* . Z.
They are asymptotic (CLT) approximations, not bounds: they ignore the learner's termination
(a mu_hat_E farther than eps/2 from the achievable set stops no projection run) and the
estimate's non-Gaussian tails at small m.

**Termination.** A projection or max-margin run stops only where mu_hat_E is within eps/2 of
the achievable set K (else it is certified to fail, or hits its cap), whatever the criterion:
a draw's termination deviation d(Z) fails it at m when d(Z) > eps sqrt(m). Two models
(TERMINATIONS): ``cone``, the default, uses that mu_E is a vertex of K, so near it K is its
tangent cone T (:mod:`mcirl.solve.cone`) and d = 2 dist(Z, T), a lower bound (K lies in
mu_E + T) that is exact as m grows and undercounts where K's far faces matter (small m, large
eps); ``exact`` solves for K itself, one second-order cone program per draw
(:mod:`mcirl.solve.reach`), 5-100x the cone's cost. With ``termination`` the predictions count
these failures too (a draw fails when either deviation is too large); this is what makes the
regret and, at large k, the theorem criterion predictable, whose failures are mostly runs that
cannot stop.

Quantiles are read off Monte Carlo draws of Z (:func:`deviation_draws`); :func:`quantile` states
their error as a distribution-free interval from order statistics. Instances pool by mixture:
the measured m* of a sweep reads the failure rate pooled over its instances, which is the mean
of their failure curves, so the pooled prediction is the quantile of all instances' draws
together (an equal number per instance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import bounds

#: Monte Carlo draws of Z per instance (the quantiles' stated error: :func:`quantile`).
DRAWS = 20_000
#: Draws of the cone termination model by default (one NNLS each, on S (A - 1) generators:
#: ~5 ms at k = 10, ~60 ms at k = 100, ~1.5 s at k = 1000 with S = 1024, A = 4 on the 2-core
#: development VM), for k up to CONE_K_AUTO; above, none unless asked for.
CONE_DRAWS = 1000
CONE_K_AUTO = 20
#: The termination models (module docstring), the default first.
TERMINATIONS = ("cone", "exact")
#: Draws of the exact termination model by default, at any k (one conic program each: ~0.03 s
#: at S A = 1024, 0.4-2 s at S A = 4096 on the same VM).
EXACT_DRAWS = 200
#: Level of the interval stated for a Monte Carlo quantile.
QUANTILE_CONFIDENCE = 0.99
#: Rows of Z drawn at once (memory: CHUNK x k float64).
CHUNK = 4096
#: The criteria predicted, in the order of the columns :func:`deviation_draws` returns.
PREDICTED = ("l2", "theorem", "regret")
STEPS = ("Abbeel-Ng bound", "variance", "joint", "l2 direct", "learner's need")


def deviation_draws(cov, w, draws: int = DRAWS, seed: int = 0, generators=None,
                    termination_draws: int = 0, progress=None, termination=None):
    """(draws, 4) float64 Monte Carlo draws of the deviations that decide each criterion, for
    Z ~ N(0, cov): columns ||Z||_2, ||Z||_inf, -w . Z (PREDICTED's order) and the
    termination's (NaN past the first ``termination_draws`` rows; module docstring).

    cov: (k, k) float64 symmetric positive semi-definite (singular allowed: Z = U sqrt(lambda)
    xi, eigenvalues below 1e-12 of the largest taken as 0); w: (k,) true reward weights.
    termination: optional callable(Z, progress, done, total) -> (N,) the termination
    deviations of the rows of Z, e.g. :func:`mcirl.solve.reach.termination_deviations` (the
    exact model); without it, the cone model 2 dist(Z, T) with T spanned by ``generators``
    (n, k) (:func:`mcirl.solve.cone.switch_directions`). Draws come in chunks of CHUNK rows
    from NumPy's default generator seeded with ``seed``. progress: optional callable(done,
    total) over termination draws.
    """
    if termination is None and termination_draws > 0:
        def termination(Z, *args):
            return 2.0 * cone_distances(generators, Z, *args)
    lam, U = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    # eigenvalues below 1e-12 of the largest are rounding of a singular Sigma: their square
    # roots (1e-6 relative) would spread Z off its subspace
    lam = np.where(lam > 1e-12 * max(lam.max(), 0.0), lam, 0.0)
    root = U * np.sqrt(lam)  # Z = root @ xi
    rng = np.random.default_rng(seed)
    out = np.full((draws, 4), np.nan)
    for lo in range(0, draws, CHUNK):
        hi = min(draws, lo + CHUNK)
        Z = rng.standard_normal((hi - lo, root.shape[1])) @ root.T
        out[lo:hi, 0] = np.sqrt((Z * Z).sum(axis=1))
        out[lo:hi, 1] = np.abs(Z).max(axis=1)
        out[lo:hi, 2] = -(Z @ w)
        modelled = min(hi, termination_draws) - lo
        if modelled > 0:
            out[lo:lo + modelled, 3] = termination(Z[:modelled], progress, lo, termination_draws)
    return out


def cone_distances(generators, Z, progress=None, done=0, total=None):
    """(N,) dist(z, T) = min_{lambda >= 0} ||generators^T lambda - z||_2 for each row z of Z
    (N, k), T the cone the rows of generators (n, k) span (Lawson-Hanson NNLS, SciPy's nnls;
    NaN where it does not converge). Scale-free: dist(z / sqrt(m), T) = dist(z, T) / sqrt(m),
    so one distance per draw serves every m."""
    from scipy.optimize import nnls

    G = np.ascontiguousarray(np.asarray(generators, dtype=np.float64).T)  # (k, n)
    G = G[:, np.abs(G).max(axis=0) > 0]
    out = np.empty(len(Z))
    for i, z in enumerate(Z):
        if G.shape[1] == 0:
            out[i] = np.sqrt(z @ z)
        else:
            try:
                out[i] = nnls(G, z, maxiter=50 * G.shape[1])[1]
            except RuntimeError:  # "too many iterations": no distance, not a wrong one
                out[i] = np.nan
        if progress is not None:
            progress(done + i + 1, total or len(Z))
    return out


def quantile(samples, level: float, confidence: float = QUANTILE_CONFIDENCE):
    """(estimate, low, high): the empirical ``level`` quantile of samples (N,) or (N, c) (per
    column) and a distribution-free ``confidence`` interval from order statistics (the number
    of draws below the true quantile is Binomial(N, level))."""
    from scipy import stats

    x = np.sort(np.asarray(samples, dtype=np.float64), axis=0)
    n = x.shape[0]
    tail = (1.0 - confidence) / 2
    lo = int(np.clip(stats.binom.ppf(tail, n, level) - 1, 0, n - 1))
    hi = int(np.clip(stats.binom.ppf(1.0 - tail, n, level), 0, n - 1))
    return np.quantile(x, level, axis=0, method="inverted_cdf"), x[lo], x[hi]


def trajectories_at(q, eps):
    """m = (q / eps)^2: the trajectories at which a deviation quantile q of sqrt(m) (mu_hat - mu)
    meets accuracy eps; at least 1 (one trajectory is the fewest there are)."""
    q = np.maximum(np.asarray(q, dtype=np.float64), 0.0)  # a negative quantile: any m will do
    return np.maximum((q / eps) ** 2, 1.0)


@dataclass(frozen=True)
class Spread:
    """What Sigma: (k, k) says about the estimate's error, per trajectory."""

    trace: float  #: tr Sigma = E ||G - mu||_2^2, the l2 error's scale
    max_variance: float  #: max_i Sigma_ii
    top_eigenvalue: float  #: ||Sigma||_2
    effective_dimension: float  #: tr Sigma / ||Sigma||_2 (1 to k: how many directions matter)
    frobenius_dimension: float  #: (tr Sigma)^2 / ||Sigma||_F^2, the same idea, smoother
    reward_variance: float  #: w*^T Sigma w*, the variance of the true reward's sum

    @classmethod
    def of(cls, cov, w) -> "Spread":
        cov = np.asarray(cov, dtype=np.float64)
        lam = np.clip(np.linalg.eigvalsh(cov), 0.0, None)
        trace, top, frob2 = float(lam.sum()), float(lam.max()), float((lam * lam).sum())
        return cls(trace=trace, max_variance=float(np.diag(cov).max()), top_eigenvalue=top,
                   effective_dimension=trace / top if top > 0 else float("nan"),
                   frobenius_dimension=trace**2 / frob2 if frob2 > 0 else float("nan"),
                   reward_variance=float(w @ cov @ w))


def union_quantile(variances, delta):
    """The t with sum_i P(|Z_i| > t) = delta for Z_i ~ N(0, variances_i): the union bound's
    deviation at failure probability delta (0 when every variance is 0).

    variances: (k,) float64 >= 0, or (n, k) for the mixture of n instances (each with
    probability 1/n: the tail is the mean of theirs, as a pooled failure rate).
    """
    from scipy import optimize, stats

    var = np.atleast_2d(np.asarray(variances, dtype=np.float64))
    n, k = var.shape
    sd = np.sqrt(var[var > 0])
    if sd.size == 0:
        return 0.0
    top = sd.max() * stats.norm.isf(delta / (2 * k))  # the worst instance's equal-variance bound
    return float(optimize.brentq(lambda t: 2 * stats.norm.sf(t / sd).sum() / n - delta,
                                 top * 1e-3, top * (1 + 1e-9), xtol=top * 1e-12))


def ladder(k, gamma, eps, delta, variances, q_inf, q_2):
    """[(step, m, factor)] for the ladder of the module docstring, STEPS in order; factor is the
    previous step's m over this one's (1 for the bound itself, inf where m reaches 0).

    variances: (k,) the diagonal of Sigma (or (n, k) for n pooled instances); q_inf, q_2: (1 -
    delta) quantiles of ||Z||_inf and ||Z||_2 (of the instances' mixture).
    """
    t = union_quantile(variances, delta)
    ms = [float(bounds.abbeel_ng_trajectories(k, gamma, eps, delta)),
          4 * k * t * t / eps**2, 4 * k * q_inf**2 / eps**2,
          4 * q_2**2 / eps**2, q_2**2 / eps**2]
    out, previous = [], None
    for step, m in zip(STEPS, ms):
        factor = 1.0 if previous is None else (previous / m if m > 0 else float("inf"))
        out.append((step, float(m), float(factor)))
        previous = m
    return out


def predicted_mstar(draws, eps, delta, termination=False):
    """{criterion: (m, low, high)} for PREDICTED: the predicted m* and the interval its Monte
    Carlo error allows (:func:`quantile` at QUANTILE_CONFIDENCE).

    draws: (N, 4) from :func:`deviation_draws`, or several instances' stacked (equal N each:
    their mixture, what a pooled failure rate measures). With ``termination``, a draw fails a
    criterion also when mu_hat_E is farther than eps/2 from the achievable set (the learner
    cannot stop), on the rows that have the distance, and "termination" is added: the m* of
    termination alone.
    """
    columns, names = _deciding(draws, termination), PREDICTED
    if termination:
        columns = np.column_stack([columns, draws[np.isfinite(draws[:, 3]), 3]])
        names += ("termination",)
    q, lo, hi = quantile(columns, 1.0 - delta)
    return {name: tuple(float(trajectories_at(x[j], eps)) for x in (q, lo, hi))
            for j, name in enumerate(names)}


def predicted_failure(draws, m, eps, termination=False):
    """{criterion: (len(m),) float64} the predicted failure probability at each m (deviation
    above eps sqrt(m)), for draws (N, 4) of one instance or a stacked mixture; with
    ``termination`` as in :func:`predicted_mstar`."""
    m = np.atleast_1d(np.asarray(m, dtype=np.float64))
    threshold = eps * np.sqrt(m)
    columns = _deciding(draws, termination)
    return {name: (columns[:, j][None, :] > threshold[:, None]).mean(axis=1)
            for j, name in enumerate(PREDICTED)}


def _deciding(draws, termination):
    """(N', 3) the deviation that decides each of PREDICTED per draw: its own column, or with
    ``termination`` the larger of it and the termination's, on the N' rows that have that."""
    if not termination:
        return draws[:, :3]
    rows = draws[np.isfinite(draws[:, 3])]
    return np.maximum(rows[:, :3], rows[:, 3:4])
