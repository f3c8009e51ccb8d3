"""One cell, end to end: failure rates of apprenticeship learning at a grid of m.

Orchestration only: validates an :class:`EstimateConfig`, then calls the math — the expert
(:mod:`mcirl.solve`), mu_hat_E (:mod:`mcirl.sample`), the learner and criteria
(:mod:`mcirl.learn`), intervals (:mod:`mcirl.stats`) and the bound (:mod:`mcirl.bounds`).
Replicates x grid values are one batch of rows for the learner; replicates share trajectories
across m (nested prefixes of one pool per replicate).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import bounds
from .backend import array_module, backend_module, resolve_backend, single_threaded_blas, to_numpy
from .errors import HORIZON_MAX, M_MAX, SEED_MAX, InputError, check_choice, check_int, check_real
from .learn import (ALGORITHMS, CRITERIA, DEFAULT_CAP, DEFAULT_PROJECTION_STEP, PROJECTION_STEPS, learn,
                    resolve_certificate, successes)
from .learn.certificate import success_certificate
from .learn.mwal import guarantee, rounds
from .learn.result import ASSURED, UNDECIDED, outcome_counts
from .mdp.validate import require_mdp
from .sample import (LENGTHS, SAMPLERS, ExpertChain, sorted_grid, check_law, choose_sampler,
                     mu_hat, sample_occupancy, trajectory_law)
from .solve import expert, feature_error
from .stats import clopper_pearson


@dataclass(frozen=True)
class EstimateConfig:
    """What to measure on one MDP; validated on construction."""

    m: tuple  #: grid of trajectory counts (sorted, duplicates dropped)
    eps: float = 0.1  #: accuracy of every criterion (the learner stops at eps / 2)
    delta: float = 0.05  #: target failure probability (for the bound)
    reps: int = 100  #: independent replicates (fresh expert trajectories)
    algorithm: str = "projection"  #: projection | max-margin
    criterion: str = "theorem"  #: theorem | l2 | regret: the one reported as "failures"
    max_iter: int = DEFAULT_CAP  #: learner iteration cap; hitting it is a failure (undecided)
    seed: int = 0  #: seed of the expert trajectories
    sampler: str = "counts"  #: counts | trajectories | auto
    backend: str = "cpu"  #: cpu | gpu | auto (resolved to cpu or gpu on construction)
    confidence: float = 0.95  #: level of the Clopper-Pearson intervals
    rep_offset: int = 0  #: first replicate's index (its RNG streams): replicate blocks of a sweep
    lengths: str = "truncated"  #: truncated (H steps) | geometric (unbiased): see mcirl.sample
    projection_step: str = DEFAULT_PROJECTION_STEP  #: segment (clipped to the hull) | line (the paper's)
    #: on | failure | off; "" (the default) or auto: on, off with the line step
    #: (mcirl.learn.certificate); resolved on construction to what the learner uses
    certificate: str = ""
    max_horizon: int = HORIZON_MAX  #: most steps of a truncated trajectory (errors.HORIZON_MAX)
    #: the m values of the grid the learner runs and rows are reported for (empty: all). The
    #: others are still sampled, so every m's expert trajectories are those of the whole grid
    #: (nested prefixes): sequential replication drops decided points this way.
    learn: tuple = ()

    def __post_init__(self):
        m = tuple(int(check_int("m", x, 1, M_MAX)) for x in np.atleast_1d(self.m).tolist())
        if not m:
            raise InputError("m", "give at least one value >= 1")
        object.__setattr__(self, "m", tuple(int(x) for x in sorted_grid(m)))
        learn = tuple(sorted({int(check_int("learn", x, 1, M_MAX))
                              for x in np.atleast_1d(np.asarray(self.learn, dtype=object)).tolist()}))
        if not set(learn) <= set(self.m):
            raise InputError("learn", "must be values of m", learn)
        object.__setattr__(self, "learn", learn)
        check_real("eps", self.eps, 0.0, np.inf, low_open=True, high_open=True)
        check_real("delta", self.delta, 0.0, 1.0, low_open=True, high_open=True)
        check_int("reps", self.reps, 1)
        check_int("max_iter", self.max_iter, 1)
        check_int("seed", self.seed, 0, SEED_MAX)
        check_int("rep_offset", self.rep_offset, 0)
        check_int("max_horizon", self.max_horizon, 1)
        check_real("confidence", self.confidence, 0.0, 1.0, low_open=True, high_open=True)
        for name, allowed in (("algorithm", ALGORITHMS), ("criterion", CRITERIA),
                              ("sampler", SAMPLERS), ("lengths", LENGTHS),
                              ("projection_step", PROJECTION_STEPS)):
            check_choice(name, getattr(self, name), allowed)
        object.__setattr__(self, "certificate", resolve_certificate(
            self.certificate, self.algorithm, self.projection_step))
        object.__setattr__(self, "backend", resolve_backend(self.backend))

    def check_mdp(self, mdp) -> int | None:
        """Refuse an MDP these settings cannot run, before any work: a gamma the lengths cannot
        sample (geometric: at most 1 - 1e-6), or one whose horizon H passes max_horizon; returns
        H (None for geometric lengths)."""
        return check_law(mdp.k, mdp.gamma, self.eps, self.lengths, self.max_horizon)


@dataclass(frozen=True)
class EstimateRow:
    """Failure statistics at one m (the --json keys)."""

    m: int
    reps: int
    failures: int
    rate: float
    ci_low: float
    ci_high: float
    criterion: str
    algorithm: str
    mean_iterations: float
    nonterminated: int
    horizon: int | None  #: H of truncated lengths (None for geometric ones)
    bound: float
    lengths: str = "truncated"
    failures_by_criterion: dict = field(default_factory=dict)
    #: mean of w* . (mu_E - mu_tilde) over the replicates the learner ran (assured rows have no
    #: mu_tilde; their regret is below eps); NaN when every row was assured
    mean_regret: float = 0.0
    mean_performance: float = 1.0  #: mean of w* . mu_tilde / w* . mu_E likewise (1 = the expert's value)
    variance: float = float("nan")  #: max_i of m Var_r((1-gamma) mu_hat_i): per-trajectory variance
    outcomes: dict = field(default_factory=dict)  #: rows terminated, certified, undecided, assured
    #: the largest success-certificate margin ||mu_hat_E - mu_E||_2 + 2 f among the assured rows
    #: (below eps/2; NaN without any): how near the certificate's edge they came
    max_assured_margin: float = float("nan")
    #: terminated rows whose output mu_tilde is farther than eps/2 from mu_hat_E: possible only
    #: with projection's line step (mu_bar outside the hull), never with segment or max-margin
    terminated_far: int = 0
    failures_if_undecided_succeed: int = 0  #: failures when rows stopped by the cap count as successes
    max_gap: float = float("nan")  #: MWAL: largest certified duality gap (feature units)
    seconds: dict = field(default_factory=dict)  #: the whole run's expert, sample, learn seconds


@dataclass(frozen=True)
class Estimate:
    """A cell's result: one row per m, and what produced it."""

    rows: list
    config: EstimateConfig
    k: int
    gamma: float
    horizon: int | None  #: H of truncated lengths (None for geometric ones)
    bound: float
    theorem1_iterations: int
    sampler: str
    expert_return: float  #: w . mu_E, the expert's normalised-reward value
    seconds: dict  #: expert, sample, learn
    rounds: int  #: MWAL: the T it runs (its theorem's or the cap); else the cap
    rounds_guarantee: float  #: MWAL: game accuracy T rounds guarantee a priori; else NaN

    def as_dict(self) -> dict:
        return asdict(self)


def _noop(*_args):
    pass


def _mean(values) -> float:
    """Mean over the rows the learner ran (assured rows are NaN); NaN when it ran none."""
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def run_estimate(mdp, config: EstimateConfig, progress=None) -> Estimate:
    """Measure failure rates of ``config.algorithm`` on ``mdp`` at every m of the grid.

    progress: optional callable(phase, done, total), phase in {"sample", "learn"}.
    """
    require_mdp(mdp)
    if not isinstance(config, EstimateConfig):
        raise InputError("config", "must be an mcirl.EstimateConfig", type(config).__name__)
    progress = progress or _noop
    grid = np.asarray(config.m, dtype=np.int64)
    R, C, k, gamma, eps = config.reps, grid.size, mdp.k, mdp.gamma, config.eps
    H = config.check_mdp(mdp)
    seconds = {}
    t0 = time.perf_counter()
    # The GPU backend keeps the MDP, mu_hat and the learner on the device (CuPy); the samplers
    # are CUDA kernels. Everything comes back to the host as counts.
    device = mdp.to(backend_module(config.backend))
    expert_policy, mu_E = expert(device)
    mu_E = to_numpy(mu_E)
    chain, decay, steps = trajectory_law(ExpertChain.from_policy(mdp, to_numpy(expert_policy)[0]),
                                         gamma, H, config.lengths)
    sampler = choose_sampler(config.sampler, chain, grid, steps)
    seconds["expert"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    occ = sample_occupancy(chain, decay, steps, grid, R, config.seed, sampler, config.rep_offset,
                           progress=lambda done, total: progress("sample", done, total),
                           backend=config.backend)
    estimates = mu_hat(occ, device.phi, grid)  # (R, C, k), on the device for the GPU backend
    # per-trajectory variance of (1-gamma) sum_t decay^t phi_i, from the spread over replicates
    m_column = array_module(estimates).asarray(grid, dtype=np.float64)[:, None]
    variance = to_numpy((1 - gamma) ** 2 * estimates.var(axis=0, ddof=1) * m_column
                        ).max(axis=1) if R > 1 else np.full(C, np.nan)
    if config.learn:  # sampled with the whole grid; learned and reported at these m only
        keep = np.flatnonzero(np.isin(grid, config.learn))
        grid, C, estimates, variance = grid[keep], keep.size, estimates[:, keep], variance[keep]
    estimates = estimates.reshape(R * C, k)
    seconds["sample"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    with single_threaded_blas():
        result = learn(device, estimates, eps, algorithm=config.algorithm, max_iter=config.max_iter,
                       projection_step=config.projection_step, certificate=config.certificate,
                       expert=array_module(estimates).asarray(mu_E),
                       progress=lambda i, running: progress("learn", R * C - running, R * C))
    seconds["learn"] = time.perf_counter() - t0

    ok = successes(result.mu_tilde, mu_E, mdp.w, eps)
    terminated = result.terminated.reshape(R, C)
    assured = (result.outcome == ASSURED).reshape(R, C)
    _, margin = success_certificate(to_numpy(estimates), mu_E, eps, feature_error(mdp))
    margins = np.where(assured, margin.reshape(R, C), np.nan)
    # Wolfe's tolerance (relative 1e-12 of the squared scale) stays far inside this margin
    far = (np.linalg.norm(result.mu_tilde - to_numpy(estimates), axis=1) > eps / 2 * (1 + 1e-9)
           ).reshape(R, C) & terminated
    fails = {c: (~(terminated & ok[c].reshape(R, C) | assured)).sum(axis=0) for c in CRITERIA}
    chosen = fails[config.criterion]
    low, high = clopper_pearson(chosen, R, config.confidence)
    bound = float(bounds.abbeel_ng_trajectories(k, gamma, eps, config.delta))
    iterations = result.iterations.reshape(R, C)
    outcome = result.outcome.reshape(R, C)
    gaps = result.gap.reshape(R, C)
    value = (result.mu_tilde @ mdp.w).reshape(R, C)
    expert_value = float(mdp.w @ mu_E)
    rows = [EstimateRow(
        m=int(grid[c]), reps=R, failures=int(chosen[c]), rate=float(chosen[c] / R),
        ci_low=float(low[c]), ci_high=float(high[c]), criterion=config.criterion,
        algorithm=config.algorithm, mean_iterations=float(iterations[:, c].mean()),
        nonterminated=int((~terminated[:, c] & ~assured[:, c]).sum()), horizon=H, bound=bound,
        lengths=config.lengths,
        failures_by_criterion={name: int(f[c]) for name, f in fails.items()},
        mean_regret=_mean(expert_value - value[:, c]),
        mean_performance=_mean(value[:, c]) / expert_value if expert_value else float("nan"),
        variance=float(variance[c]), outcomes=outcome_counts(outcome[:, c]),
        max_assured_margin=float(np.nanmax(margins[:, c])) if assured[:, c].any() else float("nan"),
        terminated_far=int(far[:, c].sum()),
        failures_if_undecided_succeed=int(chosen[c] - (outcome[:, c] == UNDECIDED).sum()),
        max_gap=float(np.max(gaps[:, c])) if not np.isnan(gaps[:, c]).all() else float("nan"),
        seconds=seconds)
        for c in range(C)]
    mwal = config.algorithm == "mwal"
    T = rounds(k, gamma, eps, config.max_iter) if mwal else config.max_iter
    return Estimate(rows=rows, config=config, k=k, gamma=gamma, horizon=H, bound=bound,
                    theorem1_iterations=int(bounds.theorem1_iterations(k, gamma, eps / 2)),
                    sampler=sampler, expert_return=expert_value, seconds=seconds, rounds=T,
                    rounds_guarantee=guarantee(k, gamma, T) if mwal else float("nan"))
