"""Read sweep results out of the store into plain per-cell summaries for plots and reports.

Orchestration only (no statistics beyond summing counts): estimates are pooled over instances
and replicate blocks per (cell, m); m* rows are taken as stored. When several runs in one
database hold the same cell, the latest run's rows are used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from .learn import CRITERIA, OUTCOMES, certificate_applies

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
    performance: np.ndarray  #: (n,) mean w* . mu_tilde / w* . mu_E over all replicates
    variance: float  #: largest measured per-trajectory variance (at the largest m)
    mstar: dict = field(default_factory=dict)  #: criterion -> pooled m* row (dict)
    mstar_instances: dict = field(default_factory=dict)  #: criterion -> per-instance rows
    run_ids: tuple = ()  #: every run holding this cell (a cell shared by runs is stored once)
    lengths: str = "truncated"  #: expert trajectory lengths (mcirl.sample)
    projection_step: str = "line"  #: the learner's options (mcirl.learn); line and off before
    certificate: str = "off"  #: issue 28
    outcomes: dict = field(default_factory=dict)  #: outcome -> (n,) int64 pooled row counts
    max_gap: float = float("nan")  #: MWAL: largest certified duality gap stored for the cell

    @property
    def method(self) -> str:
        """The learner and, where not the default, its options and the trajectory lengths."""
        return method(self.algorithm, self.lengths, self.projection_step, self.certificate)

    def rate_at(self, m: int, criterion: str):
        """(failures, reps) at an evaluated m, or None."""
        hit = np.flatnonzero(self.m == m)
        return None if hit.size == 0 else (int(self.failures[criterion][hit[0]]), int(self.reps[hit[0]]))


def method(algorithm: str, lengths: str, projection_step: str = "segment",
           certificate: str = "on") -> str:
    """'projection', or e.g. 'projection (geometric lengths, line step)': how a cell's m* was
    measured, as tables and plots label it; only what differs from the defaults is named."""
    notes = [] if lengths == "truncated" else [f"{lengths} lengths"]
    if algorithm == "projection" and projection_step == "line":
        notes.append("line step")
    elif certificate == "off" and certificate_applies(algorithm, projection_step):
        notes.append("no certificate")
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
            perf = np.zeros(ms.size)
            outcomes = {name: np.zeros(ms.size, dtype=np.int64) for name in OUTCOMES}
            for e in rows:
                i = index[e["m"]]
                reps[i] += e["reps"]
                for name, count in stored_outcomes(e).items():
                    outcomes[name][i] += count
                perf[i] += e["reps"] * (e["mean_performance"] if e["mean_performance"] is not None else np.nan)
                for crit in CRITERIA:
                    fails[crit][i] += e[f"failures_{crit}"]
            top = [e["variance"] for e in rows if e["m"] == ms[-1] and e["variance"] is not None]
            gaps = [e["max_gap"] for e in rows if e.get("max_gap") is not None]
            stars = [r for r in mstar if r["cell_id"] == c["cell_id"]]
            holders.setdefault(c["cell_id"], []).append(run_id)
            cells[c["cell_id"]] = CellSummary(
                cell_id=c["cell_id"], run_id=run_id, family=c["family"], features=c["features"],
                k=c["k"], gamma=c["gamma"], S=c["S"], algorithm=c["algorithm"], eps=c["eps"],
                delta=c["delta"], horizon=c["horizon"], bound=c["bound"], cap=c["cap"], m=ms,
                reps=reps, failures=fails, performance=perf / reps,
                variance=float(np.nanmax(top)) if top and not np.isnan(top).all() else float("nan"),
                mstar={r["criterion"]: r for r in stars if r["instance"] == -1},
                mstar_instances={crit: [r for r in stars if r["criterion"] == crit and r["instance"] >= 0]
                                 for crit in CRITERIA},
                run_ids=tuple(holders[c["cell_id"]]), lengths=c["lengths"],
                projection_step=c["projection_step"], certificate=c["certificate"],
                outcomes=outcomes, max_gap=max(gaps) if gaps else float("nan"))
    return sorted(cells.values(), key=lambda c: (c.features, c.method, c.gamma, c.k))


def stored_outcomes(row) -> dict:
    """{outcome: rows} of a stored estimate; before outcomes were stored, every row that did not
    terminate had hit the cap."""
    if row.get("terminated") is None:
        return {"terminated": row["reps"] - row["nonterminated"], "certified": 0,
                "undecided": row["nonterminated"]}
    return {name: row[name] for name in OUTCOMES}


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


def run_info(store, run_ids=None) -> list[dict]:
    """Metadata of the runs (config parsed from JSON)."""
    out = []
    for r in store.runs():
        if run_ids is None or r["run_id"] in set(run_ids):
            out.append({**r, "config": json.loads(r["config"])})
    return out


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


def mstar_text(row, number="{:,}") -> str:
    """An m* row as text: 'm* [m_lo, m_hi]', '<= m*' below the grid, '> cap' above it."""
    if row is None:
        return "not measured"
    if row["status"] == "above_cap":
        return f"> {number.format(row['cap'])}"
    lo = "-" if row["m_lo"] is None else number.format(row["m_lo"])
    hi = "-" if row["m_hi"] is None else number.format(row["m_hi"])
    prefix = "<= " if row["status"] == "below_min" else ""
    return f"{prefix}{number.format(row['m_star'])} [{lo}, {hi}]"
