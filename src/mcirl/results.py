"""Read results out of the store: per-cell summaries for plots and reports, tidy tables for
pandas and exports.

Orchestration only (no statistics beyond summing counts and their Clopper-Pearson intervals):
estimates are pooled over instances and replicate blocks per (cell, m); m* rows are taken as
stored. When several runs in one database hold the same cell, the latest run's rows are used.

:func:`frames` is the researcher's loader: ``mcirl.results.frames("mcirl-results.sqlite")``
gives one pandas DataFrame per table (:data:`FRAMES`), every row carrying its cell's
parameters, so no join on ``cell_id`` is needed; ``mcirl results export`` writes the same
tables as CSV or Parquet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .errors import InputError
from .learn import (CRITERIA, DEFAULT_CERTIFICATE, DEFAULT_PROJECTION_STEP, OUTCOMES, failure_applies,
                    success_applies)
from .mdp import FamilySpec
from .output import count_text
from .stats import bootstrap_mean_band, point_interval
from .store import TABLE, Store

#: The columns of a stored m* that its optimistic twin (undecided rows as successes) repeats.
MSTAR_FIELDS = ("status", "m_star", "m_lo", "m_hi")


@dataclass(frozen=True)
class CellSummary:
    """One cell of a sweep: its description, pooled failure curves, m* and performance."""

    cell_id: str
    run_id: str  #: the run whose rows are used (the latest holding the cell)
    family: str
    features: str
    k: int
    gamma: float
    S: int
    algorithm: str
    eps: float
    delta: float
    horizon: int | None  #: H of truncated lengths; None for geometric ones
    bound: float
    cap: int
    m: np.ndarray  #: (n,) int64 evaluated m values, ascending
    reps: np.ndarray  #: (n,) int64 replicates pooled over instances at each m
    failures: dict  #: criterion -> (n,) int64 pooled failures
    #: (n,) mean w* . mu_tilde / w* . mu_E over the replicates the learner ran (NaN where every
    #: row was assured: proven to succeed, not run)
    performance: np.ndarray
    variance: float  #: largest measured per-trajectory variance (at the largest m)
    mstar: dict = field(default_factory=dict)  #: criterion -> pooled m* row (dict)
    mstar_instances: dict = field(default_factory=dict)  #: criterion -> per-instance rows
    run_ids: tuple = ()  #: every run holding this cell (a cell shared by runs is stored once)
    lengths: str = "truncated"  #: expert trajectory lengths (mcirl.sample)
    #: the learner's options (mcirl.learn), as stored (a cell stored before they existed reads
    #: the line step with no certificate: mcirl.store.schema)
    projection_step: str = field(kw_only=True)
    certificate: str = field(kw_only=True)
    outcomes: dict = field(default_factory=dict)  #: outcome -> (n,) int64 pooled row counts
    max_gap: float = float("nan")  #: MWAL: largest certified duality gap stored for the cell
    #: (low, high): (n,) each, a 95% bootstrap band over MDP instances of the mean performance
    #: at each m (mcirl.stats.bootstrap_mean_band; None before performance was stored)
    performance_band: tuple | None = None
    #: rows of a point that draws all its replicates under sequential replication (instances x
    #: replicates); a point with fewer stopped early. 0: every point ran all its rows.
    full_reps: int = 0
    #: the MDP family the cell's instances were drawn from (its stored spec; None in a
    #: database that predates stored specs), and (instance, MDP seed) of each stored instance
    spec: FamilySpec | None = None
    seeds: tuple = ()

    @property
    def method(self) -> str:
        """The learner and, where not the default, its options and the trajectory lengths."""
        return method(self.algorithm, self.lengths, self.projection_step, self.certificate)

    def interval(self, criterion: str, confidence: float = 0.95):
        """(low, high), (n,) each: every point's interval on its failure rate, Clopper-Pearson
        where it ran all its rows and the confidence sequence where sequential replication
        stopped it early (:func:`mcirl.stats.point_interval`)."""
        full = self.full_reps or int(self.reps.max())
        pairs = [point_interval(int(f), int(n), max(full, int(n)), self.delta, confidence)
                 for f, n in zip(self.failures[criterion], self.reps)]
        return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])

    def rate_at(self, m: int, criterion: str):
        """(failures, reps) at an evaluated m, or None."""
        hit = np.flatnonzero(self.m == m)
        return None if hit.size == 0 else (int(self.failures[criterion][hit[0]]), int(self.reps[hit[0]]))


def method(algorithm: str, lengths: str, projection_step: str = DEFAULT_PROJECTION_STEP,
           certificate: str = DEFAULT_CERTIFICATE) -> str:
    """'projection', or e.g. 'projection (geometric lengths, line step)': how a cell's m* was
    measured, as tables and plots label it; only what differs from the defaults is named."""
    notes = [] if lengths == "truncated" else [f"{lengths} lengths"]
    if algorithm == "projection" and projection_step == "line":
        notes.append("line step")
    elif certificate == "off" and failure_applies(algorithm, projection_step):
        notes.append("no certificate")
    elif certificate == "failure" and success_applies(algorithm, projection_step):
        notes.append("failure certificate only")
    return f"{algorithm} ({', '.join(notes)})" if notes else algorithm


def method_of(row) -> str:
    """:func:`method` of a stored cells row (a mapping with those columns)."""
    return method(row["algorithm"], row["lengths"], row["projection_step"], row["certificate"])


def collect(store, run_ids=None) -> list[CellSummary]:
    """Summaries of every cell of the given runs (default: all runs; latest wins per cell)."""
    runs = store.runs()
    if run_ids is not None:
        runs = [r for r in runs if r["run_id"] in set(run_ids)]
    cells: dict[str, CellSummary] = {}
    holders: dict[str, list] = {}
    for run in runs:  # oldest first: later runs overwrite
        run_id = run["run_id"]
        estimates = store.table("estimates", run_id)
        mstar = store.table("mstar", run_id)
        for c in store.table("cells", run_id):
            rows = [e for e in estimates if e["cell_id"] == c["cell_id"]]
            if not rows:
                continue
            ms = np.array(sorted({e["m"] for e in rows}), dtype=np.int64)
            index = {m: i for i, m in enumerate(ms)}
            reps = np.zeros(ms.size, dtype=np.int64)
            fails = {crit: np.zeros(ms.size, dtype=np.int64) for crit in CRITERIA}
            perf, ran = np.zeros(ms.size), np.zeros(ms.size)
            by_instance = {}  # instance -> [(n,) rows run, (n,) rows run * performance]
            outcomes = {name: np.zeros(ms.size, dtype=np.int64) for name in OUTCOMES}
            for e in rows:
                i = index[e["m"]]
                reps[i] += e["reps"]
                counts = stored_outcomes(e)
                # performance is a mean over the rows the learner ran (assured rows are not run)
                run = e["reps"] - counts["assured"]
                value = run * (e["mean_performance"] if e["mean_performance"] is not None else np.nan) \
                    if run else 0.0
                own = by_instance.setdefault(e["instance"], [np.zeros(ms.size), np.zeros(ms.size)])
                own[0][i] += run
                own[1][i] += value
                perf[i] += value
                ran[i] += run
                for name, count in counts.items():
                    outcomes[name][i] += count
                for crit in CRITERIA:
                    fails[crit][i] += e[f"failures_{crit}"]
            top = [e["variance"] for e in rows if e["m"] == ms[-1] and e["variance"] is not None]
            gaps = [e["max_gap"] for e in rows if e.get("max_gap") is not None]
            stars = [r for r in mstar if r["cell_id"] == c["cell_id"]]
            holders.setdefault(c["cell_id"], []).append(run_id)
            band = None
            if by_instance and not all(np.isnan(total).all() for _, total in by_instance.values()):
                weights = np.array([n for n, _ in by_instance.values()])
                band = bootstrap_mean_band(weights, np.array([t for _, t in by_instance.values()])
                                           / np.maximum(weights, 1))
            cells[c["cell_id"]] = CellSummary(
                cell_id=c["cell_id"], run_id=run_id, family=c["family"], features=c["features"],
                k=c["k"], gamma=c["gamma"], S=c["S"], algorithm=c["algorithm"], eps=c["eps"],
                delta=c["delta"], horizon=c["horizon"], bound=c["bound"], cap=c["cap"], m=ms,
                reps=reps, failures=fails,
                performance=np.divide(perf, ran, out=np.full(ms.size, np.nan), where=ran > 0),
                variance=float(np.nanmax(top)) if top and not np.isnan(top).all() else float("nan"),
                mstar={r["criterion"]: r for r in stars if r["instance"] == -1},
                mstar_instances={crit: [r for r in stars if r["criterion"] == crit and r["instance"] >= 0]
                                 for crit in CRITERIA},
                run_ids=tuple(holders[c["cell_id"]]), lengths=c["lengths"],
                projection_step=c["projection_step"], certificate=c["certificate"],
                outcomes=outcomes, max_gap=max(gaps) if gaps else float("nan"), performance_band=band,
                full_reps=_full_reps(run), spec=stored_family(c),
                seeds=tuple(sorted({(e["instance"], e["mdp_seed"]) for e in rows
                                    if e.get("mdp_seed") is not None})))
    return sorted(cells.values(), key=lambda c: (c.features, c.method, c.eps, c.delta, c.gamma, c.k))


def stored_family(cell: dict) -> FamilySpec | None:
    """The MDP family of a stored cells row (its spec column), None where it has none."""
    if not cell.get("spec"):
        return None
    return FamilySpec(**json.loads(cell["spec"])["family"])


def mstar_summary(store, run_id: str) -> list[dict]:
    """Every m* row of a run (per instance, and pooled as instance -1) with its cell's
    description and the undecided-as-success twin, sorted for tables."""
    cells = {c["cell_id"]: c for c in store.table("cells", run_id)}
    out = []
    for r in store.table("mstar", run_id):
        c = cells[r["cell_id"]]
        out.append({key: c[key] for key in ("features", "k", "gamma", "S", "algorithm", "lengths",
                                            "projection_step", "certificate", "eps", "delta", "bound")}
                   | {key: r[key] for key in ("criterion", "instance", "status", "m_star",
                                              "m_lo", "m_hi", "cap", "reps", "evaluated")}
                   | {"undecided_as_success": optimistic(r),
                      "cap_sensitive": cap_sensitive(r)})
    return sorted(out, key=lambda r: (r["features"], r["eps"], r["delta"], r["k"], r["gamma"],
                                      r["algorithm"], r["lengths"], r["criterion"], r["instance"]))


def _full_reps(run) -> int:
    """Rows a point of the run draws when not stopped early: instances x replicates for a
    sequential search, 0 (every point ran all its rows) otherwise or where unknown."""
    try:
        config = json.loads(run["config"])
    except (TypeError, ValueError):
        return 0
    if not config.get("search", {}).get("sequential"):
        return 0
    return int(config["instances"]["count"]) * int(config["instances"]["reps"])


def stored_outcomes(row) -> dict:
    """{outcome: rows} of a stored estimate; before outcomes were stored, every row that did not
    terminate had hit the cap."""
    if row.get("terminated") is None:
        return {"terminated": row["reps"] - row["nonterminated"], "certified": 0,
                "undecided": row["nonterminated"], "assured": 0}
    return {name: row.get(name) or 0 for name in OUTCOMES}  # assured: NULL before it existed


def most_replicated(cells, key) -> dict:
    """key(cell) -> the cell with the most replicates among those sharing that key: where runs
    measured one setting with different replicate counts (different cell ids), the most precise
    measurement; on a tie the later cell, as :func:`collect` prefers the latest run."""
    best = {}
    for c in cells:
        k = key(c)
        if k not in best or c.reps.max() >= best[k].reps.max():
            best[k] = c
    return best


def collect_elbows(store, run_ids=None) -> tuple[list[dict], list[dict]]:
    """(curve rows, elbow rows) of the elbow runs among run_ids (default: every run)."""
    runs = [r["run_id"] for r in store.runs() if run_ids is None or r["run_id"] in set(run_ids)]
    curves = [row for run in runs for row in store.table("elbow_curves", run)]
    elbows = [row for run in runs for row in store.table("elbows", run)]
    return curves, elbows


def optimistic(row) -> dict:
    """A stored m* row's twin with undecided rows counted as successes (same cap)."""
    return {"cap": row["cap"]} | {key: row[f"{key}_optimistic"] for key in MSTAR_FIELDS}


def cap_sensitive(row) -> bool:
    """Whether an m* row changes when rows stopped by the learner's cap count as successes
    (False where the database predates the distinction)."""
    if row.get("status_optimistic") is None:
        return False
    twin = optimistic(row)
    return any(row[key] != twin[key] for key in MSTAR_FIELDS)


def at_cap(row) -> bool:
    """Whether a stored m* row was found at the search's cap: the failure rate dropped to delta
    only there, so the grid cannot say where below or beyond it m* lies (a ratio against it
    would read as a measurement; issue 51)."""
    return row["status"] == "found" and row["cap"] is not None and row["m_star"] >= row["cap"]


def resolved(row) -> bool:
    """Whether a stored m* row is a measured value that ratios may be taken against: found,
    and below the cap."""
    return row is not None and row["status"] == "found" and not at_cap(row)


def mstar_text(row) -> str:
    """An m* row as text: 'm* [m_lo, m_hi]', '<= m*' below the grid, '> cap' above it and
    '~cap (at the cap)' where the rate reached delta only at the cap."""
    if row is None:
        return "not measured"
    if row["status"] == "above_cap":
        return f"> {count_text(row['cap'])}"
    if at_cap(row):
        return f"~{count_text(row['cap'])} (at the cap)"
    lo, hi = count_text(row["m_lo"]), count_text(row["m_hi"])
    prefix = "<= " if row["status"] == "below_min" else ""
    return f"{prefix}{count_text(row['m_star'])} [{lo}, {hi}]"


def iso_time(epoch: float | None) -> str | None:
    """An epoch timestamp as ISO 8601 in UTC ('2026-12-02T16:20:05+00:00'), None kept."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds")


def run_rows(store, run_ids=None) -> list[dict]:
    """The runs as a reader wants them: config and environment as objects (not JSON text),
    timestamps in ISO 8601."""
    out = []
    for r in store.runs():
        if run_ids is None or r["run_id"] in set(run_ids):
            env = r.get("environment")
            out.append({**r, "config": json.loads(r["config"]),
                        "environment": json.loads(env) if env else None,
                        "started": iso_time(r["started"]), "finished": iso_time(r["finished"])})
    return out


#: A cell's parameters, joined onto every row of the tidy tables: the cells table's columns
#: and, from its stored spec, the MDP family's own (A, b, weights; None where a family has
#: none, e.g. b for a gridworld).
CELL_PARAMETERS = ("family", "S", "A", "b", "features", "weights", "k", "gamma", "eps", "delta",
                   "algorithm", "lengths", "projection_step", "certificate", "horizon", "bound",
                   "cap")
#: The tidy tables of :func:`tables` and :func:`frames`, in order.
FRAMES = ("runs", "cells", "curves", "mstar", "estimates", "timings", "elbow_curves", "elbows")
CURVE_COLUMNS = ("criterion", "m", "reps", "failures", "rate", "ci_low", "ci_high", *OUTCOMES,
                 "mean_performance")


def _parameters(cell: dict) -> dict:
    family = json.loads(cell["spec"])["family"] if cell.get("spec") else {}
    return {name: cell[name] if name in cell else family.get(name) for name in CELL_PARAMETERS}


def tables(store, run_ids=None) -> dict:
    """{name: (columns, rows)} for every table of :data:`FRAMES`, rows as dicts, over the given
    runs (default: all). ``curves`` pools each cell's estimates per (m, criterion) with a 95%
    interval on the failure rate (Clopper-Pearson; the confidence sequence's at a point
    sequential replication stopped early, whose ``reps`` are the rows it used; where runs
    share a cell, the latest run's rows, as :func:`collect`); ``cells``, ``mstar``, ``estimates``
    and ``curves`` carry their run's name (``run_name``) and :data:`CELL_PARAMETERS`; the others
    are as stored."""
    runs = run_rows(store, run_ids)
    ids = [r["run_id"] for r in runs]
    out = {"runs": (list(TABLE["runs"].names) + ["cells", "tasks"], runs)}
    params = {}
    for run in ids:
        for cell in store.table("cells", run):
            params[(run, cell["cell_id"])] = _parameters(cell)
    names = {r["run_id"]: r["name"] for r in runs}
    keyed = ["run_id", "run_name", "cell_id", *CELL_PARAMETERS]

    def joined(name):
        rows = [{"run_id": r["run_id"], "run_name": names[r["run_id"]], "cell_id": r["cell_id"],
                 **params[(r["run_id"], r["cell_id"])],
                 **{c: v for c, v in r.items() if c not in CELL_PARAMETERS or c in ("horizon", "bound", "cap")}}
                for run in ids for r in store.table(name, run)]
        columns = keyed + [c for c in TABLE[name].names if c not in keyed]
        return columns, [{c: r.get(c) for c in columns} for r in rows]

    cell_columns, cell_rows = joined("cells")
    out["cells"] = ([c for c in cell_columns if c != "spec"] + ["spec"], cell_rows)
    curves = []
    for cell in collect(store, ids):
        base = {"run_id": cell.run_id, "run_name": names[cell.run_id], "cell_id": cell.cell_id,
                **params[(cell.run_id, cell.cell_id)]}
        for criterion in CRITERIA:
            low, high = cell.interval(criterion)
            for i, m in enumerate(cell.m.tolist()):
                fails, reps = int(cell.failures[criterion][i]), int(cell.reps[i])
                curves.append({**base, "criterion": criterion, "m": m, "reps": reps, "failures": fails,
                               "rate": fails / reps, "ci_low": float(low[i]), "ci_high": float(high[i]),
                               **{o: int(cell.outcomes[o][i]) for o in OUTCOMES},
                               "mean_performance": float(cell.performance[i])})
    out["curves"] = (keyed + list(CURVE_COLUMNS), curves)
    out["mstar"] = joined("mstar")
    out["estimates"] = joined("estimates")
    for name in ("timings", "elbow_curves", "elbows"):
        out[name] = (list(TABLE[name].names), [r for run in ids for r in store.table(name, run)])
    return out


def frames(db, runs=None) -> dict:
    """Tidy pandas DataFrames of a results database, one per table of :data:`FRAMES`.

    db: path of a results database (opened read-only; never changed). runs: None for every
    run, or a list of run id prefixes or names. ``frames(db)["curves"]`` has one row per
    (cell, m, criterion) with the cell's parameters (:data:`CELL_PARAMETERS`), pooled failures,
    the rate and its 95% interval, and the learner's outcomes; ``["mstar"]`` one row per
    (cell, criterion, instance), instance -1 pooled. Every table has its columns even when it
    has no rows; ``runs`` holds ``config`` and ``environment`` as dicts and the timestamps as
    UTC datetimes.
    """
    import pandas as pd

    with Store(db, readonly=True) as store:  # a missing file is the store's one-line error

        ids = None if runs is None else [store.resolve_run(r) for r in _as_list(runs, "runs")]
        data = tables(store, ids)
    out = {name: pd.DataFrame(rows, columns=columns) for name, (columns, rows) in data.items()}
    for column in ("started", "finished"):
        out["runs"][column] = pd.to_datetime(out["runs"][column], utc=True)
    return out


def _as_list(value, field: str) -> list:
    if isinstance(value, str):
        return [value]
    try:
        return list(value)
    except TypeError:
        raise InputError(field, "must be a run id prefix or name, or a list of them", value) from None
