"""``mcirl verify``: search MDP cells for a statistically significant violation of a bound.

For each cell hypothesis draws (within user ranges), replicates of the learner run at
m = ceil(BOUND(k, gamma, eps, delta, S, A, b)); a cell violates the bound when the one-sided
Clopper-Pearson lower bound on its failure rate, at confidence 1 - alpha / N for N examples
(Bonferroni), is above delta. hypothesis then shrinks a violation to a small cell, which is
saved as .npz with the exact ``mcirl estimate`` command that reproduces it (same seed, same
numbers). Otherwise the result is "no counterexample in N examples", with the failure rates
seen and the power: the smallest true failure rate each example detects with probability 0.9.

The bound ``predicted`` is :mod:`mcirl.explain`'s predicted m* for the criterion on each cell's
MDP (a CLT approximation, not a bound): verifying it shows where the approximation fails.
"""

from __future__ import annotations

import math
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import M_MAX, SEED_MAX, InputError, check_choice, check_int, check_real, show_limit
from ..estimate import EstimateConfig, run_estimate
from ..learn import ALGORITHMS, CRITERIA, DEFAULT_CAP, DEFAULT_PROJECTION_STEP
from ..mdp import FamilySpec, make_mdp, save_npz
from ..sample import LENGTHS, SAMPLERS, gamma_range
from ..stats import clopper_pearson_lower, detectable_rate
from .formula import Bound, parse_bound
from .strategies import Cell, Ranges, cells


#: The bound name that tests mcirl's own predicted m* (mcirl.explain) instead of a formula.
PREDICTED = "predicted"


@dataclass(frozen=True)
class VerifyConfig:
    """A verify run; validated on construction."""

    bound: str
    ranges: Ranges = Ranges()
    examples: int = 20  #: cells hypothesis tries (before shrinking)
    reps: int = 200  #: replicates per cell
    criterion: str = "theorem"
    algorithm: str = "projection"
    max_iter: int = DEFAULT_CAP
    sampler: str = "auto"
    lengths: str = "truncated"  #: the expert's trajectory lengths (mcirl.sample)
    projection_step: str = DEFAULT_PROJECTION_STEP  #: the learner's (mcirl.learn.projection)
    certificate: str = ""  #: on | failure | off; "" or auto: on, off with the line step (mcirl.learn)
    alpha: float = 1e-3  #: family-wise probability of a false alarm
    seed: int = 0
    backend: str = "cpu"

    def __post_init__(self):
        if self.bound != PREDICTED:
            parse_bound(self.bound)
        check_int("examples", self.examples, 1, 10**6)
        check_int("reps", self.reps, 1)
        check_int("max_iter", self.max_iter, 1)
        check_int("seed", self.seed, 0, SEED_MAX)
        check_real("alpha", self.alpha, 0.0, 1.0, low_open=True, high_open=True)
        for name, allowed in (("criterion", CRITERIA), ("algorithm", ALGORITHMS), ("sampler", SAMPLERS),
                              ("lengths", LENGTHS)):
            check_choice(name, getattr(self, name), allowed)
        # the learner's options are checked, and auto resolved, as the estimates will take them
        learner = EstimateConfig(m=(1,), algorithm=self.algorithm,
                                 projection_step=self.projection_step, certificate=self.certificate)
        object.__setattr__(self, "certificate", learner.certificate)
        r = self.ranges
        for name, low in (("S", 1), ("A", 1), ("b", 1), ("k", 1)):
            lo, hi = getattr(r, name)
            check_int(f"{name} (low)", lo, low)
            check_int(f"{name} (high)", hi, lo)
        for name, lo_open, hi_max, hi_open in (("gamma", False, *gamma_range(self.lengths)),
                                               ("eps", True, math.inf, True),
                                               ("delta", True, 1.0, True)):
            lo, hi = getattr(r, name)
            check_real(f"{name} (low)", lo, 0.0, hi_max, low_open=lo_open, high_open=hi_open)
            check_real(f"{name} (high)", hi, lo, hi_max, high_open=hi_open)
        if r.features and "onehot" in r.features and r.k[0] > r.S[1]:
            raise InputError("k", f"one-hot features need k <= S (S at most {r.S[1]})", r.k)
        if not r.families or any(f not in ("garnet", "dirichlet") for f in r.families):
            raise InputError("family", "must be garnet and/or dirichlet", r.families)

    @property
    def confidence(self) -> float:
        return 1.0 - self.alpha / self.examples


@dataclass
class Example:
    """One cell tried: m, failures and the one-sided lower bound on the failure rate."""

    cell: Cell
    m: int
    failures: int
    reps: int
    lower: float
    violated: bool
    seed: int

    @property
    def rate(self) -> float:
        return self.failures / self.reps

    def as_dict(self) -> dict:
        f = self.cell.family
        return {"cell": self.cell.describe(), "S": f.S, "A": f.A, "b": f.b, "k": f.k,
                "features": f.features, "weights": f.weights, "gamma": f.gamma,
                "eps": self.cell.eps, "delta": self.cell.delta, "mdp_seed": f.seed, "m": self.m,
                "failures": self.failures, "reps": self.reps, "rate": self.rate,
                "lower_bound": self.lower, "violated": self.violated, "seed": self.seed}


@dataclass
class VerifyResult:
    bound: str
    examples: list = field(default_factory=list)
    violation: Example | None = None
    reproducer: dict | None = None
    detectable_rate: float = float("nan")
    confidence: float = float("nan")


def bound_m(bound: Bound, cell: Cell) -> int:
    """ceil(BOUND) at the cell. A bound that is not a positive number of at most M_MAX
    trajectories there cannot be tested: an error names the value and the cell (it is never
    clamped into range, which would test another bound)."""
    f = cell.family
    value = float(bound(f.k, f.gamma, cell.eps, cell.delta, f.S, f.A, f.b))
    if not 0 < value <= M_MAX:  # NaN, <= 0, infinite or past the largest m
        raise InputError("bound", f"must be a number of trajectories in (0, {show_limit(M_MAX)}] "
                         f"at every cell tried; it is {value:g} at {cell.describe()}", bound.text)
    return math.ceil(value)


def predicted_m(config: VerifyConfig, cell: Cell) -> int:
    """ceil of the predicted m* (mcirl.explain) for config.criterion on the cell's MDP."""
    from ..explain import ExplainConfig, explain_mdp

    result = explain_mdp(make_mdp(cell.family), ExplainConfig(eps=cell.eps, delta=cell.delta,
                                                              lengths=config.lengths))
    return min(math.ceil(result.predicted_mstar[config.criterion]), M_MAX)


def evaluate(config: VerifyConfig, bound: Bound | None, cell: Cell) -> Example:
    """Run the learner's replicates at m = BOUND(cell) (the predicted m* for bound None) and
    test for a violation."""
    m = predicted_m(config, cell) if bound is None else bound_m(bound, cell)
    seed = cell.family.seed  # the trajectories' seed: fixed per cell, so shrinking is stable
    est = run_estimate(make_mdp(cell.family), estimate_config(config, cell, m, seed))
    row = est.rows[0]
    lower = float(clopper_pearson_lower(row.failures, row.reps, config.confidence))
    return Example(cell=cell, m=m, failures=row.failures, reps=row.reps, lower=lower,
                   violated=lower > cell.delta, seed=seed)


def estimate_config(config: VerifyConfig, cell: Cell, m: int, seed: int) -> EstimateConfig:
    return EstimateConfig(m=(m,), eps=cell.eps, delta=cell.delta, reps=config.reps,
                          algorithm=config.algorithm, criterion=config.criterion,
                          max_iter=config.max_iter, seed=seed, sampler=config.sampler,
                          backend=config.backend, lengths=config.lengths,
                          projection_step=config.projection_step, certificate=config.certificate)


def reproducer(config: VerifyConfig, example: Example, out_dir: Path) -> dict:
    """Save the violating MDP and the exact command that reproduces the numbers."""
    out_dir = Path(out_dir)
    path = save_npz(make_mdp(example.cell.family), out_dir / "counterexample.npz", field="out")
    argv = ["mcirl", "estimate", "--mdp", str(path), "--m", str(example.m),
            "--eps", repr(example.cell.eps), "--delta", repr(example.cell.delta),
            "--reps", str(config.reps), "--algorithm", config.algorithm,
            "--criterion", config.criterion, "--max-iter", str(config.max_iter),
            "--seed", str(example.seed), "--sampler", config.sampler, "--lengths", config.lengths,
            "--projection-step", config.projection_step, "--certificate", config.certificate,
            "--backend", config.backend]
    return {"npz": str(path), "argv": argv, "command": shlex.join(argv)}


class _Violation(Exception):
    pass


def costliest_cell(ranges) -> Cell:
    """The cell at the expensive end of every range (most states, actions, successors and
    features, largest gamma, smallest eps and delta): what a dry run times."""
    features = ranges.features[0]
    S = ranges.S[1]
    spec = FamilySpec(family=ranges.families[0], S=S, A=ranges.A[1], b=min(ranges.b[1], S),
                      k=min(ranges.k[1], S) if features == "onehot" else ranges.k[1],
                      features=features, weights=ranges.weights[0], gamma=ranges.gamma[1], seed=0)
    return Cell(family=spec, eps=ranges.eps[0], delta=ranges.delta[0])


def dry_run(config: VerifyConfig, calibrate: bool = True) -> dict:
    """The plan of a search without running it and, from one example timed at
    :func:`costliest_cell`, a rough estimate of its length before any shrinking (a violation's
    shrinking adds examples that cannot be counted ahead; each costs at most that much)."""
    bound = None if config.bound == PREDICTED else parse_bound(config.bound)
    cell = costliest_cell(config.ranges)
    plan = {"bound": config.bound, "examples": config.examples, "reps": config.reps,
            "criterion": config.criterion, "algorithm": config.algorithm,
            "costliest_cell": cell.describe(), "m_at_costliest": None if bound is None else bound_m(bound, cell)}
    if calibrate:
        t0 = time.perf_counter()
        evaluate(config, bound, cell)
        seconds = time.perf_counter() - t0
        plan.update(calibration_seconds=seconds, estimated_seconds_at_most=seconds * config.examples)
    return plan


def search(config: VerifyConfig, out_dir: Path, progress=None) -> VerifyResult:
    """hypothesis-driven search (seeded by config.seed); shrinks a violation if it finds one."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed

    bound = None if config.bound == PREDICTED else parse_bound(config.bound)
    result = VerifyResult(bound=config.bound, confidence=config.confidence,
                          detectable_rate=detectable_rate(config.reps, config.ranges.delta[1],
                                                          config.confidence))

    @hypothesis_seed(config.seed)
    @settings(max_examples=config.examples, database=None, deadline=None,
              phases=(Phase.generate, Phase.shrink), verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(cells(config.ranges))
    def probe(cell):
        example = evaluate(config, bound, cell)
        result.examples.append(example)
        if progress is not None:
            progress(len(result.examples), config.examples, example)
        if example.violated:
            raise _Violation(example)

    try:
        probe()
    except _Violation as found:
        result.violation = found.args[0]  # the shrunk (smallest) violating cell
        result.reproducer = reproducer(config, result.violation, out_dir)
    return result
