"""Experiment configs: TOML files validated into frozen dataclasses.

Every error names the file and the key (``quick.toml: cells.gamma: must be ...``). A config
file has top-level ``name``, ``seed``, ``backend`` and the sections ``[mdp]``, ``[cells]``,
``[instances]`` and ``[search]``; see ``examples/`` and the README.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, make_dataclass
from pathlib import Path

from ..backend import resolve_backend
from ..provenance import content_hash, read_toml  # noqa: F401  (sweep.config's own API)
from ..errors import M_MAX, SEED_MAX, InputError, check_choice, check_int, check_real, show_limit
from ..learn import (ALGORITHMS, CRITERIA, DEFAULT_CAP, DEFAULT_PROJECTION_STEP, PROJECTION_STEPS,
                     default_certificate,
                     resolve_certificate)
from ..mdp.families import FEATURES, FamilySpec
from ..sample import LENGTHS, SAMPLERS, gamma_range


#: [mdp] fields FamilySpec gained after run ids were first stored, with their defaults: a
#: config at the default keeps the run id it had before the field existed.
LATER_MDP_FIELDS = {"reward_rank": 0}
#: FamilySpec's fields that a cell sets (the grid's k, features and gamma; the instance's seed);
#: the others make up the sweep's [mdp] section.
PER_CELL = ("k", "features", "gamma", "seed")


def _section_fields() -> list:
    """[mdp]'s fields: FamilySpec's shared ones, same names and defaults ("" where FamilySpec's
    is None, i.e. the family's default, which TOML cannot write), then S_per_k."""
    out = []
    for f in fields(FamilySpec):
        if f.name not in PER_CELL:
            default = "" if f.default is None else f.default
            out.append((f.name, type(default), field(default=default)))
    return out + [("S_per_k", int, field(default=0))]


def _check_section(self) -> None:
    """Every shared field checked as FamilySpec checks it (on a nominal one-feature cell: the
    cells themselves are checked again with their k, features and gamma)."""
    check_int("S_per_k", self.S_per_k, 0)
    # dense features: no S >= k limit on the nominal cell, which has just the reward's rank
    self.family_spec(max(1, self.reward_rank), "macrocell" if self.family == "gridworld" else "dense", 0.5)


def _family_spec(self, k: int, features: str, gamma: float) -> FamilySpec:
    """The MDP family of a cell with these features, k and gamma (seed 0; instances reseed
    it): S = max(S, S_per_k * k)."""
    shared = {name: getattr(self, name) for name, _, _ in _section_fields() if name != "S_per_k"}
    shared.update(S=max(self.S, self.S_per_k * k), weights=self.weights or None)
    return FamilySpec(**shared, k=None if features == "macrocell" else k, features=features,
                      gamma=float(gamma), seed=0)


#: The MDP family shared by all cells (docs/method.md): FamilySpec's fields but the per-cell
#: ones, plus S_per_k (one-hot features need S >= k).
MDPSection = make_dataclass("MDPSection", _section_fields(), frozen=True, namespace={
    "__post_init__": _check_section, "family_spec": _family_spec,
    "__doc__": "The MDP family shared by all cells: mcirl.mdp.FamilySpec's fields but "
               f"{', '.join(PER_CELL)}, plus S_per_k (each cell uses S = max(S, S_per_k * k))."})
MDPSection.__module__ = __name__


@dataclass(frozen=True)
class CellsSection:
    """The cell grid: every combination of features x k x gamma x algorithm x lengths x eps x
    delta (each a list, or one value)."""

    k: tuple = (10,)  #: feature counts
    gamma: tuple = (0.9,)  #: discounts
    features: tuple = ("onehot",)  #: feature families
    algorithms: tuple = ("projection",)  #: learners
    criteria: tuple = ("theorem",)  #: success criteria with an m* search each
    lengths: tuple = ("truncated",)  #: expert trajectory lengths: truncated | geometric
    eps: tuple = (0.1,)  #: accuracies
    delta: tuple = (0.05,)  #: target failure probabilities
    projection_step: str = DEFAULT_PROJECTION_STEP  #: projection's step: segment (clipped) | line (the paper's)
    #: on | failure | off; "" (not given) or auto: on, off with the line step (mcirl.learn.certificate)
    certificate: str = ""

    def __post_init__(self):
        for x in self.k:
            check_int("k", x, 1)
        # the strictest of the cells' lengths (geometric ones need gamma <= 1 - 1e-6)
        high, high_open = min((gamma_range(x) for x in self.lengths), default=(1.0, True))
        for g in self.gamma:
            check_real("gamma", g, 0.0, high, high_open=high_open)
        for name, allowed in (("features", FEATURES), ("algorithms", ALGORITHMS),
                              ("criteria", CRITERIA), ("lengths", LENGTHS)):
            for value in getattr(self, name):
                if value not in allowed:
                    raise InputError(name, f"entries must be among {', '.join(allowed)}", value)
        for name in ("k", "gamma", "features", "algorithms", "criteria", "lengths", "eps", "delta"):
            if not getattr(self, name):
                raise InputError(name, "must list at least one value")
        for x in self.eps:
            check_real("eps", x, 0.0, math.inf, low_open=True, high_open=True)
        for x in self.delta:
            check_real("delta", x, 0.0, 1.0, low_open=True, high_open=True)
        check_choice("projection_step", self.projection_step, PROJECTION_STEPS)
        for algorithm in self.algorithms:  # refuses what no cell could use
            resolve_certificate(self.certificate, algorithm, self.projection_step)
        object.__setattr__(self, "certificate", default_certificate(self.certificate, self.projection_step))


@dataclass(frozen=True)
class InstancesSection:
    """Random MDP instances per cell and expert-trajectory replicates per instance."""

    count: int = 4  #: MDP instances per cell
    reps: int = 200  #: replicates per instance (and per m)
    reps_per_task: int = 0  #: replicates per task (0 = all in one task)

    def __post_init__(self):
        check_int("count", self.count, 1)
        check_int("reps", self.reps, 1)
        check_int("reps_per_task", self.reps_per_task, 0)


#: The most grid points one cell's m* search may plan (factor 1.1 from 1 to 1e15 is 363).
MAX_GRID = 1000


@dataclass(frozen=True)
class SearchSection:
    """The m* search: a geometric grid from m_min to the cap, then bisection in log m."""

    m_min: int = 1  #: first grid value
    factor: float = 4.0  #: ratio of the geometric grid (> 1)
    cap: str = "bound"  #: largest m: an integer, "bound" (m_AN) or "bound*X" (X m_AN)
    bisect: int = 4  #: bisection steps in log m after the grid
    sampler: str = "auto"  #: counts | trajectories | auto
    max_iter: int = DEFAULT_CAP  #: learner iteration cap
    confidence: float = 0.95  #: Clopper-Pearson level of the intervals
    #: draw each point's rows in rounds of one replicate block per instance and stop the point
    #: once every criterion's confidence sequence excludes delta (mcirl.stats)
    sequential: bool = True

    def __post_init__(self):
        check_int("m_min", self.m_min, 1, M_MAX)
        check_real("factor", self.factor, 1.0, math.inf, low_open=True, high_open=True)
        self.cap_for(1.0)  # validates the cap's form
        check_int("bisect", self.bisect, 0, 60)
        check_choice("sampler", self.sampler, SAMPLERS)
        check_int("max_iter", self.max_iter, 1)
        check_real("confidence", self.confidence, 0.0, 1.0, low_open=True, high_open=True)

    def cap_for(self, bound: float) -> int:
        """The cap in trajectories for a cell whose Abbeel-Ng bound is ``bound``."""
        text = str(self.cap).replace(" ", "")
        try:
            if text == "bound":
                value = bound
            elif text.startswith("bound*"):
                value = float(text[len("bound*"):]) * bound
            else:
                value = float(text)
        except ValueError:
            value = math.nan
        if math.isnan(value) or value < 1:
            raise InputError("cap", 'must be an integer >= 1, "bound" or "bound*X"', self.cap)
        if value > M_MAX:  # +inf included: an m_AN past float64 (eps (1 - gamma) near 0)
            # checked again for each cell as it is planned, where bound is its m_AN
            raise InputError("search.cap", f"must come to at most {show_limit(M_MAX)} trajectories",
                             f"{self.cap} = {value:.3g} for m_AN = {bound:.3g}")
        return int(math.ceil(value))

    def grid(self, cap: int) -> list[int]:
        """Geometric grid m_min, m_min * factor, ... below cap, then cap itself; at most
        MAX_GRID points (a factor barely above 1 would plan millions before any work)."""
        if cap > self.m_min and math.log(cap / self.m_min) / math.log(self.factor) > MAX_GRID:
            needed = math.ceil(math.log(cap / self.m_min) / math.log(self.factor))
            raise InputError("search.factor", f"must give at most {MAX_GRID} grid points from "
                             f"m_min = {self.m_min} to the cap {cap:,}", f"{self.factor!r}: "
                             f"{needed:,} points")
        values, m = [], float(self.m_min)
        while round(m) < cap:
            if not values or round(m) > values[-1]:
                values.append(int(round(m)))
            m *= self.factor
        return values + [cap]


@dataclass(frozen=True)
class SweepConfig:
    """A whole sweep. ``run_id`` is a content hash of everything but the file's path."""

    name: str = "sweep"
    seed: int = 0
    backend: str = "cpu"
    mdp: MDPSection = MDPSection()
    cells: CellsSection = CellsSection()
    instances: InstancesSection = InstancesSection()
    search: SearchSection = SearchSection()

    def __post_init__(self):
        check_int("seed", self.seed, 0, SEED_MAX)
        resolve_backend(self.backend)
        if not isinstance(self.name, str) or not self.name:
            raise InputError("name", "must be a non-empty string", self.name)

    def as_dict(self) -> dict:
        out = asdict(self)
        if self.cells.lengths == ("truncated",):  # the default keeps run ids from before it
            del out["cells"]["lengths"]
        for name in ("eps", "delta"):  # one value, as it was stored before they were lists
            if len(out["cells"][name]) == 1:
                out["cells"][name] = out["cells"][name][0]
        for name, default in LATER_MDP_FIELDS.items():  # at its default a later field stays out
            if out["mdp"][name] == default:
                del out["mdp"][name]
        if not self.search.sequential:  # a search as before sequential replication keeps its id
            del out["search"]["sequential"]
        if (self.cells.projection_step, self.cells.certificate) == ("line", "off"):
            # likewise the learner as it was before these options existed
            del out["cells"]["projection_step"], out["cells"]["certificate"]
        return out

    def with_learner(self, projection_step: str | None, certificate: str | None) -> "SweepConfig":
        """This config with the command line's learner options (None keeps the file's)."""
        from dataclasses import replace

        if certificate is None and projection_step is not None and \
                self.cells.certificate == default_certificate("", self.cells.projection_step):
            certificate = ""  # the file's default follows the step the command line gives
        changes = {name: value for name, value in (("projection_step", projection_step),
                                                  ("certificate", certificate)) if value is not None}
        return replace(self, cells=replace(self.cells, **changes)) if changes else self

    @property
    def run_id(self) -> str:
        return content_hash(self.as_dict())


SECTIONS = {"mdp": MDPSection, "cells": CellsSection, "instances": InstancesSection,
            "search": SearchSection}
TOP_LEVEL = ("name", "seed", "backend")
_LISTS = {("cells", f.name) for f in fields(CellsSection) if f.default.__class__ is tuple}


def _kind(cls, name):
    default = {f.name: f.default for f in fields(cls)}[name]
    return type(default)


def _coerce(where: str, value, kind, is_list: bool):
    """Check a TOML value's type: ints are ints (not bools), reals accept ints, lists of them."""
    if is_list:  # a scalar is a one-element list; elements are checked by the section
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, (list, dict)) for v in items):
            raise InputError(where, "must be a list of numbers or strings", value)
        return tuple(items)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(where, "must be an integer", value)
    if kind is float and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise InputError(where, "must be a number", value)
    if kind is str and not isinstance(value, (str, int)):
        raise InputError(where, "must be a string", value)
    if kind is bool and not isinstance(value, bool):
        raise InputError(where, "must be true or false", value)
    return kind(value)


def config_from_dict(data: dict, source: str = "config") -> SweepConfig:
    """Validate a parsed TOML document; errors read '<source>: <section.key>: ...'."""
    def fail(exc: InputError, section: str = ""):
        field = exc.field if "." in exc.field or not section else f"{section}.{exc.field}"
        return InputError(f"{source}: {field}", exc.allowed, exc.got)

    unknown = sorted(set(data) - set(TOP_LEVEL) - set(SECTIONS))
    if unknown:
        raise InputError(f"{source}: {unknown[0]}", "unknown key (allowed: "
                         f"{', '.join(TOP_LEVEL + tuple(SECTIONS))})")
    built = {}
    for section, cls in SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise InputError(f"{source}: {section}", "must be a table ([section])", table)
        names = [f.name for f in fields(cls)]
        for key in table:
            if key not in names:
                raise InputError(f"{source}: {section}.{key}", f"unknown key (allowed: {', '.join(names)})")
        try:
            values = {key: _coerce(f"{section}.{key}", v, _kind(cls, key), (section, key) in _LISTS)
                      for key, v in table.items()}
            built[section] = cls(**values)
        except InputError as exc:
            raise fail(exc, section) from None
    try:
        top = {key: _coerce(key, data[key], _kind(SweepConfig, key), False)
               for key in TOP_LEVEL if key in data}
        return SweepConfig(**top, **built)
    except InputError as exc:
        raise fail(exc) from None


def load_config(path: str | Path) -> SweepConfig:
    """Read and validate a TOML sweep config."""
    path = Path(path)
    return config_from_dict(read_toml(path), path.name)
