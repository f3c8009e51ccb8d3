"""Explain and predict m* on an MDP, or on every instance of a stored sweep cell, in seconds.

Orchestration only: the expert (:mod:`mcirl.solve`), the exact covariance of its trajectory
sums (:mod:`mcirl.solve.moments`) and the ladder and predictions (:mod:`mcirl.ladder`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from . import ladder
from .errors import InputError, check_choice, check_int, check_real
from .mdp.validate import require_mdp
from .results import method, resolved
from .backend import to_numpy
from .mdp import FamilySpec, make_mdp
from .sample import LENGTHS, check_law
from .solve import expert, reach
from .solve.cone import switch_directions
from .solve.moments import trajectory_moments
from .sweep.plan import cells

#: Most Monte Carlo draws of Z per instance (memory is CHUNK x k at a time; time draws x k^2).
MAX_DRAWS = 10**7


@dataclass(frozen=True)
class ExplainConfig:
    """What to explain; validated on construction."""

    eps: float = 0.1
    delta: float = 0.05
    lengths: str = "truncated"  #: truncated (H steps) | geometric, as the sampler draws them
    draws: int = ladder.DRAWS  #: Monte Carlo draws of Z per instance
    seed: int = 0  #: seed of the draws
    #: draws of the termination model (the first of the draws); None: ladder.EXACT_DRAWS for
    #: the exact model, ladder.CONE_DRAWS for the cone where k <= ladder.CONE_K_AUTO, else 0
    termination_draws: int | None = None
    termination: str = "cone"  #: the termination model, one of ladder.TERMINATIONS

    def __post_init__(self):
        check_real("eps", self.eps, 0.0, np.inf, low_open=True, high_open=True)
        check_real("delta", self.delta, 0.0, 1.0, low_open=True, high_open=True)
        check_choice("lengths", self.lengths, LENGTHS)
        check_int("draws", self.draws, 100, MAX_DRAWS)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.termination_draws is not None:
            check_int("termination_draws", self.termination_draws, 0, self.draws)
        check_choice("termination", self.termination, ladder.TERMINATIONS)

    def check_mdp(self, mdp) -> int | None:
        """The horizon H (None for geometric lengths), refusing an MDP these lengths cannot
        sample or whose H passes errors.HORIZON_MAX (:func:`mcirl.sample.check_law`)."""
        return check_law(mdp.k, mdp.gamma, self.eps, self.lengths)

    def model_draws(self, k: int) -> int:
        """Termination-model draws for k features."""
        if self.termination_draws is not None:
            return self.termination_draws
        if self.termination == "exact":
            return min(ladder.EXACT_DRAWS, self.draws)
        return min(ladder.CONE_DRAWS, self.draws) if k <= ladder.CONE_K_AUTO else 0


@dataclass(frozen=True)
class Explanation:
    """The ladder and predictions on one MDP (the --json keys, but ``draws``)."""

    k: int
    gamma: float
    S: int
    eps: float
    delta: float
    lengths: str
    horizon: int | None  #: H of truncated lengths (None for geometric ones)
    m_an: float
    ladder: list  #: [{"step", "m", "factor"}], mcirl.ladder.STEPS in order
    predicted_mstar: dict  #: criterion -> m (asymptotic, CLT: not a bound)
    predicted_interval: dict  #: criterion -> [low, high] allowed by the Monte Carlo error
    termination_draws: int  #: draws of the termination model (0: not modelled)
    termination_model: str  #: which (ladder.TERMINATIONS)
    #: criterion -> m with mu_tilde = mu_hat_E and termination ignored (the CLT part alone)
    predicted_without_termination: dict
    trace_sigma: float
    max_variance: float
    top_eigenvalue: float
    effective_dimension: float  #: tr Sigma / ||Sigma||_2
    frobenius_dimension: float  #: (tr Sigma)^2 / ||Sigma||_F^2
    reward_variance: float  #: w*^T Sigma w*
    mdp_seed: int | None = None
    draws: np.ndarray = field(default=None, repr=False, compare=False)  #: (N, 4) mcirl.ladder
    variances: np.ndarray = field(default=None, repr=False, compare=False)  #: (k,) diag Sigma

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items()
                if key not in ("draws", "variances")}


def explain_mdp(mdp, config: ExplainConfig, mdp_seed: int | None = None,
                progress=None) -> Explanation:
    """The ladder of :mod:`mcirl.ladder` and the predicted m* per criterion on one MDP.

    progress: optional callable(done, total) over the termination model's draws."""
    require_mdp(mdp)
    if not isinstance(config, ExplainConfig):
        raise InputError("config", "must be an mcirl.ExplainConfig", type(config).__name__)
    H = config.check_mdp(mdp)
    k, gamma, eps, delta = mdp.k, mdp.gamma, config.eps, config.delta
    policy, _ = expert(mdp)
    mu_E, cov = trajectory_moments(mdp, policy, config.lengths, H)
    cov, w = to_numpy(cov)[0], to_numpy(mdp.w)
    cone = config.model_draws(k)
    generators, termination = None, None
    if cone and config.termination == "exact":
        mu_E = to_numpy(mu_E)[0]

        def termination(Z, *args):
            return reach.termination_deviations(mdp, mu_E, Z, eps, *args)
    elif cone:
        generators = to_numpy(switch_directions(mdp, policy))[0].reshape(-1, k)
    draws = ladder.deviation_draws(cov, w, config.draws, config.seed, generators, cone, progress,
                                   termination)
    q, _, _ = ladder.quantile(draws[:, :3], 1.0 - delta)
    steps = ladder.ladder(k, gamma, eps, delta, np.diag(cov), q[1], q[0])
    clt = ladder.predicted_mstar(draws, eps, delta)
    predicted = ladder.predicted_mstar(draws, eps, delta, termination=True) if cone else clt
    spread = ladder.Spread.of(cov, w)
    return Explanation(
        k=k, gamma=gamma, S=mdp.S, eps=eps, delta=delta, lengths=config.lengths, horizon=H,
        m_an=steps[0][1], ladder=[{"step": s, "m": m, "factor": f} for s, m, f in steps],
        predicted_mstar={c: m for c, (m, _, _) in predicted.items()},
        predicted_interval={c: [lo, hi] for c, (_, lo, hi) in predicted.items()},
        termination_draws=cone, termination_model=config.termination,
        predicted_without_termination={c: m for c, (m, _, _) in clt.items()},
        trace_sigma=spread.trace, max_variance=spread.max_variance,
        top_eigenvalue=spread.top_eigenvalue, effective_dimension=spread.effective_dimension,
        frobenius_dimension=spread.frobenius_dimension, reward_variance=spread.reward_variance,
        mdp_seed=mdp_seed, draws=draws, variances=np.diag(cov).copy())


def pooled_ladder(explanations, gamma: float, eps: float, delta: float) -> list:
    """[{"step", "m", "factor"}] of the instances' mixture (what pooled failure rates see)."""
    draws = np.concatenate([e.draws for e in explanations])
    q, _, _ = ladder.quantile(draws[:, :3], 1.0 - delta)
    variances = np.stack([e.variances for e in explanations])
    steps = ladder.ladder(variances.shape[1], gamma, eps, delta, variances, q[1], q[0])
    return [{"step": s, "m": m, "factor": f} for s, m, f in steps]


def pooled_prediction(explanations, eps: float, delta: float) -> dict:
    """{criterion: {"m", "low", "high"}}: m* predicted for the failure rate pooled over
    instances (the quantile of their draws' mixture: :mod:`mcirl.ladder`), with the
    termination model where every instance has it."""
    draws = np.concatenate([e.draws for e in explanations])
    termination = all(e.termination_draws for e in explanations)
    return {c: dict(zip(("m", "low", "high"), v))
            for c, v in ladder.predicted_mstar(draws, eps, delta, termination).items()}


#: The learners explain's termination model describes (mcirl.ladder: projection's stop at
#: ||mu_hat_E - mu_bar|| <= eps/2, which max-margin shares); MWAL and LPAL stop otherwise, so
#: their cells get no predicted m* (issue 51: ratios of 4.8x and 40x were printed for them).
MODELLED_LEARNERS = ("projection", "max-margin")


@dataclass(frozen=True)
class CellExplanation:
    """A sweep cell: its instances explained, the pooled prediction and the measured m*."""

    cell_id: str
    label: str  #: features, k, gamma, method: how tables name the cell
    features: str
    k: int
    gamma: float
    instances: list  #: Explanation per instance
    #: criterion -> {"m", "low", "high"} pooled over the instances; empty for a learner the
    #: termination model does not describe (MODELLED_LEARNERS)
    predicted: dict
    measured: dict  #: criterion -> stored pooled m* row (dict), or None (not measured)
    ladder: list  #: [{"step", "m", "factor"}] of the instances' mixture
    run_id: str | None = None  #: the run the measured m* comes from

    def ratio(self, criterion: str) -> float:
        """Predicted / measured m* (NaN where m* was not found: above the cap or below the grid)."""
        row = self.measured.get(criterion)
        if not resolved(row) or criterion not in self.predicted:
            return float("nan")
        return self.predicted[criterion]["m"] / row["m_star"]

    def as_dict(self) -> dict:
        measured = {c: self.measured.get(c) for c in ladder.PREDICTED}
        return {"cell_id": self.cell_id, "run_id": self.run_id, "label": self.label,
                "features": self.features, "k": self.k, "gamma": self.gamma,
                "predicted_mstar": {c: p["m"] for c, p in self.predicted.items()},
                "predicted_interval": {c: [p["low"], p["high"]] for c, p in self.predicted.items()},
                "measured_mstar": {c: (r and r["m_star"]) for c, r in measured.items()},
                "measured_interval": {c: (r and [r["m_lo"], r["m_hi"]]) for c, r in measured.items()},
                "ratio": {c: self.ratio(c) for c in ladder.PREDICTED},
                "ladder": self.ladder, "instances": [e.as_dict() for e in self.instances]}


def explain_instances(cell, family: FamilySpec, seeds, config: ExplainConfig, measured=None,
                      run_id=None, progress=None) -> CellExplanation:
    """A cell (a :class:`mcirl.sweep.plan.Cell` or :class:`mcirl.results.CellSummary`: its
    eps, delta, lengths and learner) explained on the MDPs of ``family`` with each of the
    ``seeds``; progress: optional callable(instances done)."""
    config = replace(config, eps=cell.eps, delta=cell.delta, lengths=cell.lengths)
    instances = []
    for seed in seeds:
        instances.append(explain_mdp(make_mdp(replace(family, seed=seed)), config, mdp_seed=seed))
        if progress is not None:
            progress(len(instances))
    label = (f"{family.features or 'onehot'} k={family.k} gamma={family.gamma:g} "
             f"{method(cell.algorithm, cell.lengths, cell.projection_step, cell.certificate)}")
    return CellExplanation(
        cell_id=cell.cell_id, label=label,
        features=family.features or "onehot", k=family.k, gamma=family.gamma,
        instances=instances,
        predicted=(pooled_prediction(instances, cell.eps, cell.delta)
                   if cell.algorithm in MODELLED_LEARNERS else {}),
        measured=measured or {}, ladder=pooled_ladder(instances, family.gamma, cell.eps, cell.delta),
        run_id=run_id)


def explain_stored(cell, config: ExplainConfig, progress=None) -> CellExplanation:
    """A stored cell (:class:`mcirl.results.CellSummary`) on its stored instances' MDPs, beside
    its measured m*."""
    ((_, family, seeds),) = stored_families([cell])
    return explain_instances(cell, family, seeds, config,
                             measured={c: cell.mstar.get(c) for c in ladder.PREDICTED},
                             run_id=cell.run_id, progress=progress)


def plan_explanations(cells_and_families, config: ExplainConfig, calibrate: bool = True) -> dict:
    """The plan of explaining cells without doing it: cells_and_families is [(cell, FamilySpec,
    seeds)]; with calibrate, one instance of the cell with the most features (then the largest
    gamma) is explained and timed, and every instance costed as it: a rough upper estimate."""
    plan = {"cells": len(cells_and_families),
            "instances": sum(len(seeds) for _, _, seeds in cells_and_families),
            "draws": config.draws, "termination_draws": config.termination_draws}
    if calibrate and cells_and_families:
        cell, family, seeds = max(cells_and_families, key=lambda c: (c[1].k, c[1].gamma))
        t0 = time.perf_counter()
        explain_instances(cell, family, seeds[:1], config)
        plan.update(calibration_seconds=time.perf_counter() - t0, costliest=f"k={family.k} gamma={family.gamma:g}")
        plan["estimated_seconds_at_most"] = plan["calibration_seconds"] * plan["instances"]
    return plan


def stored_families(summaries) -> list:
    """[(cell, FamilySpec, seeds)] of stored cells (:class:`mcirl.results.CellSummary`: what
    :func:`explain_stored` explains)."""
    return [(cell, cell.spec, [seed for _, seed in cell.seeds]) for cell in summaries]


def sweep_families(sweep_config) -> list:
    """[(cell, FamilySpec, seeds)] of a sweep config's cells: the MDPs its instances will draw."""
    count = sweep_config.instances.count
    return [(cell, cell.family, [cell.seeds(sweep_config.seed, i)[0] for i in range(count)])
            for cell in cells(sweep_config)]


def explain_cells(cells, config: ExplainConfig, progress=None) -> list:
    """:func:`explain_stored` for each stored cell in turn; progress: optional callable(cells
    done, total)."""
    out = []
    for cell in cells:
        out.append(explain_stored(cell, config))
        if progress is not None:
            progress(len(out), len(cells))
    return out


def explain_sweep(sweep_config, config: ExplainConfig, measured=(), progress=None) -> list:
    """Every cell of a sweep config (:class:`mcirl.sweep.config.SweepConfig`) on the MDPs its
    instances will draw, before (or without) running it, beside the m* of the same cells among
    ``measured`` (stored :class:`mcirl.results.CellSummary`, e.g. :func:`mcirl.results.collect`)."""
    stored = {c.cell_id: c for c in measured}
    out = []
    for cell, _, seeds in sweep_families(sweep_config):
        summary = stored.get(cell.cell_id)
        measured = None if summary is None else {c: summary.mstar.get(c) for c in ladder.PREDICTED}
        out.append(explain_instances(cell, cell.family, seeds, config, measured,
                                     None if summary is None else summary.run_id))
        if progress is not None:
            progress(len(out))
    return out
