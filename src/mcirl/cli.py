"""The ``mcirl`` command line: bound, mdp make / info, estimate.

Every bad input ends in one line ``mcirl: error: <field>: <what is allowed> (got ...)`` on
stderr and exit status 2, without a traceback; every command that prints results has --json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import __version__, bounds
from .backend import BACKENDS, backend_module
from .errors import M_MAX, InputError, check_int, check_real, show_limit
from .learn import ALGORITHMS, CRITERIA
from .mdp import FamilySpec, load_npz, make_mdp, save_npz
from .mdp.families import FAMILIES, FEATURES, WEIGHTS
from .results import method
from .sample import LENGTHS, SAMPLERS
from .sweep.store import DEFAULT_DB

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message):
        raise InputError(self.prog, message)


def _count(text: str) -> int:
    """An integer count that also accepts scientific notation (1e7, 2.1e10)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(value)


def _m_value(text: str):
    return "bound" if text == "bound" else _count(text)


def _real(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


# ---------------------------------------------------------------- output helpers

def _emit_json(obj) -> None:
    print(json.dumps(obj, indent=2, default=_json_default))


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def _sig(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


@contextmanager
def _bars(enabled: bool, *columns):
    """A transient rich progress display on stderr (None when disabled)."""
    if not enabled:
        yield None
        return
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar


@contextmanager
def _progress(enabled: bool):
    """A bar per phase; yields callback(phase, done, total) (None when disabled)."""
    columns = (TextColumn("{task.description:<8}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), TimeRemainingColumn())
    with _bars(enabled, *columns) as bar:
        if bar is None:
            yield None
            return
        tasks = {}

        def update(phase, done, total):
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


# ---------------------------------------------------------------- bound

def _check_bounds_fit(ks, gammas, eps) -> None:
    """The counts `bound` prints must fit int64: none may saturate at bounds.COUNT_MAX (the
    trajectory bounds, smaller than the iteration counts times a log, are then finite)."""
    for k in ks:
        for g in gammas:
            counts = (bounds.theorem1_iterations(k, g, eps / 2), bounds.mwal_iterations(k, g, eps),
                      bounds.horizon(k, g, eps))
            if max(counts) >= np.int64(bounds.COUNT_MAX):
                raise InputError("eps", f"is too small for k = {k}, gamma = {g}: the bounds "
                                 "overflow 64-bit integers", eps)


def _cmd_bound(args) -> None:
    ks = args.k or ([10, 1000] if args.seed_table else None)
    gammas = args.gamma or ([0.9, 0.99] if args.seed_table else None)
    if ks is None or gammas is None:
        raise InputError("bound", "give --k and --gamma, or --seed-table")
    ks = [check_int("k", k, 1, None) for k in ks]
    gammas = [check_real("gamma", g, 0.0, 1.0, high_open=True) for g in gammas]
    eps = check_real("eps", args.eps, 0.0, math.inf, low_open=True, high_open=True)
    delta = check_real("delta", args.delta, 0.0, 1.0, low_open=True, high_open=True)
    _check_bounds_fit(ks, gammas, eps)
    if args.seed_table:
        table = bounds.seed_table(ks, gammas, eps, delta)
        result = {"eps": eps, "delta": delta, "k": ks, "gamma": gammas, "m": table.tolist(),
                  "ratio_last_to_first_k": (table[:, -1] / table[:, 0]).tolist()}
        if args.json:
            return _emit_json(result)
        out = Table(title=f"Abbeel & Ng (2004) Theorem 2: m >= 2k/(eps(1-gamma))^2 ln(2k/delta),"
                          f" eps = {eps:g}, delta = {delta:g}")
        out.add_column("")
        for k in ks:
            out.add_column(f"k = {k}", justify="right")
        if len(ks) > 1:
            out.add_column(f"k={ks[-1]} / k={ks[0]}", justify="right")
        for g, row in zip(gammas, table):
            ratio = [f"{row[-1] / row[0]:.1f}x"] if len(ks) > 1 else []
            out.add_row(f"gamma = {g:g}", *[_sig(x) for x in row], *ratio)
        return Console().print(out)
    variance = None if args.variance is None else check_real("variance", args.variance, 0.0, 0.25)
    rows = []
    for g in gammas:
        for k in ks:
            row = {"k": k, "gamma": g, "eps": eps, "delta": delta}
            for name, (bound, criterion, _) in bounds.BOUNDS.items():
                row[f"m_{name}"] = float(bound(k, g, eps, delta))
            if variance is not None:
                row["m_bernstein"] = float(bounds.bernstein_trajectories(k, g, eps, delta, [variance]))
            row.update(m_AN_ceil=int(math.ceil(row["m_abbeel-ng"])),
                       theorem1_iterations=int(bounds.theorem1_iterations(k, g, eps / 2)),
                       mwal_iterations=int(bounds.mwal_iterations(k, g, eps)),
                       horizon=int(bounds.horizon(k, g, eps)))
            rows.append(row)
    if args.json:
        return _emit_json(rows)
    out = Table(title="Trajectories sufficient for success w.p. >= 1 - delta, by bound "
                      "(criterion); n: Thm 1 iterations at t <= eps/2; T: MWAL rounds; H: horizon")
    names = [n for n in bounds.BOUNDS] + (["bernstein"] if variance is not None else [])
    criteria = {n: c for n, (_, c, _) in bounds.BOUNDS.items()} | {"bernstein": "theorem"}
    for col in ["k", "gamma", "eps", "delta"] + [f"{n} ({criteria[n]})" for n in names] + ["n", "T", "H"]:
        out.add_column(col, justify="right")
    for r in rows:
        out.add_row(str(r["k"]), f"{r['gamma']:g}", f"{r['eps']:g}", f"{r['delta']:g}",
                    *[_sig(r[f"m_{n}"]) for n in names], str(r["theorem1_iterations"]),
                    str(r["mwal_iterations"]), str(r["horizon"]))
    Console().print(out)


# ---------------------------------------------------------------- mdp

def _add_family_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("MDP family (DESIGN section 3)")
    g.add_argument("--family", choices=FAMILIES, default=None, help="default: garnet")
    g.add_argument("--S", type=_count, help="states (garnet, dirichlet; default 64)")
    g.add_argument("--A", type=_count, help="actions (default 4)")
    g.add_argument("--b", type=_count, help="garnet successors per (s, a) (default 3)")
    g.add_argument("--alpha", type=_real, help="dirichlet concentration (default 1)")
    g.add_argument("--N", type=_count, help="gridworld side (default 16)")
    g.add_argument("--macro", type=_count, help="gridworld macrocell side (default 4)")
    g.add_argument("--p-fail", dest="p_fail", type=_real, help="gridworld action failure (default 0.3)")
    g.add_argument("--k", type=_count, help="features (default 16; macrocell: (N/macro)^2)")
    g.add_argument("--features", choices=FEATURES, help="default onehot (gridworld: macrocell)")
    g.add_argument("--feature-density", dest="feature_density", type=_real,
                   help="sparse features: P(phi=1) (default 0.1)")
    g.add_argument("--weights", choices=WEIGHTS, help="true reward w*: default dense (gridworld: sparse)")
    g.add_argument("--weight-density", dest="weight_density", type=_real,
                   help="sparse w*: P(w_j != 0) (default 0.1)")
    g.add_argument("--gamma", type=_real, help="discount (default 0.95)")
    g.add_argument("--mdp-seed", dest="mdp_seed", type=_count, help="seed of the MDP draw (default 0)")


def _spec(args) -> FamilySpec:
    options = dict(vars(args))
    options["seed"] = options.pop("mdp_seed", None)
    try:
        return FamilySpec.from_options(**options)
    except InputError as exc:
        if exc.field != "seed":
            raise
        # the spec's seed is --mdp-seed here; estimate's own --seed is the trajectories'
        raise InputError("mdp_seed", exc.allowed, exc.got) from None


def _mdp_summary(mdp, xp) -> dict:
    """What ``mdp make`` and ``mdp info`` print; the expert is solved on array module ``xp``."""
    from .learn.result import to_numpy
    from .solve import expert

    _, mu_E = expert(mdp.to(xp))
    mu_E = to_numpy(mu_E)
    onehot = bool(np.all((mdp.phi == 0) | (mdp.phi == 1)) and np.all(mdp.phi.sum(axis=1) == 1))
    return {"S": mdp.S, "A": mdp.A, "B": mdp.B, "k": mdp.k, "gamma": mdp.gamma,
            "transitions_nonzero": int((mdp.prob > 0).sum()),
            "phi_min": float(mdp.phi.min()), "phi_max": float(mdp.phi.max()),
            "phi_onehot": onehot, "w_nonzero": int((mdp.w != 0).sum()),
            "w_l1": float(np.abs(mdp.w).sum()),
            "d0_support": int((mdp.d0 > 0).sum()),
            "expert_return": float(mdp.w @ mu_E),
            "mu_E_min": float(mu_E.min()), "mu_E_max": float(mu_E.max())}


def _print_mapping(title: str, mapping: dict) -> None:
    out = Table(title=title, show_header=False)
    out.add_column("key")
    out.add_column("value", justify="right")
    for key, value in mapping.items():
        out.add_row(key, _sig(value, 6) if isinstance(value, float) else str(value))
    Console().print(out)


def _cmd_mdp_make(args) -> None:
    spec = _spec(args)
    xp = backend_module(args.backend)  # checked before anything is written
    mdp = make_mdp(spec)
    path = save_npz(mdp, args.output)
    summary = {"file": str(path), **spec.relevant(), **_mdp_summary(mdp, xp)}
    if args.json:
        return _emit_json(summary)
    _print_mapping(f"wrote {path}", summary)


def _cmd_mdp_info(args) -> None:
    xp = backend_module(args.backend)
    mdp = load_npz(args.file)
    summary = {"file": str(args.file), **_mdp_summary(mdp, xp)}
    if args.json:
        return _emit_json(summary)
    _print_mapping(str(args.file), summary)


# ---------------------------------------------------------------- estimate

def _cmd_estimate(args) -> None:
    from dataclasses import replace

    from .estimate import EstimateConfig, run_estimate

    # every option but m is checked before an MDP is drawn; m = 'bound' needs its k and gamma
    config = EstimateConfig(m=(1,), eps=args.eps, delta=args.delta, reps=args.reps,
                            algorithm=args.algorithm, criterion=args.criterion,
                            max_iter=args.max_iter, seed=args.seed, sampler=args.sampler,
                            backend=args.backend, lengths=args.lengths)
    if args.mdp is not None:
        given = [name for name in ("family", "S", "A", "b", "alpha", "N", "macro", "p_fail", "k",
                                   "features", "feature_density", "weights", "weight_density",
                                   "gamma", "mdp_seed") if getattr(args, name) is not None]
        if given:
            raise InputError("mdp", f"--mdp FILE excludes the family options (got --{given[0]})")
        mdp = load_npz(args.mdp)
    else:
        mdp = make_mdp(_spec(args))
    m_an = float(bounds.abbeel_ng_trajectories(mdp.k, mdp.gamma, config.eps, config.delta))
    if "bound" in args.m and not m_an <= M_MAX:
        raise InputError("m", f"'bound' is m_AN = {m_an:.3g} for this MDP, eps and delta; m must "
                         f"be at most {show_limit(M_MAX)}", "bound")
    config = replace(config, m=tuple(math.ceil(m_an) if x == "bound" else x for x in args.m))
    with _progress(not (args.json or args.quiet)) as progress:
        result = run_estimate(mdp, config, progress)
    if args.json:
        return _emit_json([vars(r) | {"sampler": result.sampler} for r in result.rows])
    console = Console()
    lengths = "geometric lengths" if result.horizon is None else f"H = {result.horizon}"
    out = Table(title=f"{config.algorithm}, criterion {config.criterion}, eps = {config.eps:g}, "
                      f"delta = {config.delta:g}: S = {mdp.S}, A = {mdp.A}, k = {mdp.k}, "
                      f"gamma = {mdp.gamma:g}, {lengths}, sampler {result.sampler}")
    for col in ("m", "failures", "rate", "95% CI", "mean iter", "non-term", "m / bound"):
        out.add_column(col, justify="right")
    for r in result.rows:
        out.add_row(f"{r.m:,}", f"{r.failures}/{r.reps}", f"{r.rate:.3f}",
                    f"[{r.ci_low:.3f}, {r.ci_high:.3f}]", f"{r.mean_iterations:.1f}",
                    str(r.nonterminated), _sig(r.m / r.bound, 3))
    console.print(out)
    s = result.seconds
    console.print(f"bound m_AN = {_sig(result.bound)} (Abbeel & Ng Thm 2); Theorem 1 iteration "
                  f"bound {result.theorem1_iterations}; cap {config.max_iter}; "
                  f"time: expert {s['expert']:.2f} s, sampler {s['sample']:.2f} s, "
                  f"learner {s['learn']:.2f} s")


# ---------------------------------------------------------------- sweep and results

def _cmd_sweep(args) -> None:
    from dataclasses import replace

    from .sweep.config import load_config
    from .sweep.execute import make_executor
    from .sweep.runner import dry_run, run_sweep
    from .sweep.store import Store

    config = load_config(args.config)
    if args.backend is not None:  # part of the run id: a GPU run never resumes a CPU one
        config = replace(config, backend=args.backend)
    if args.dry_run:
        plan = dry_run(config, calibrate=not args.no_calibrate)
        if args.json:
            return _emit_json(plan)
        return _print_plan(plan)
    with Store(args.db) as store:
        executor = make_executor(args.workers, args.gpus, args.scheduler)
        try:
            with _sweep_progress(not (args.quiet or args.json)) as progress:
                run_id = run_sweep(config, store, executor, resume=args.resume,
                                   progress=progress if not args.quiet else _log_progress())
        finally:
            executor.close()
        rows = _mstar_summary(store, run_id)
    if args.json:
        return _emit_json({"run_id": run_id, "db": str(args.db), "mstar": rows})
    _print_mstar(rows, f"sweep {config.name} (run {run_id[:12]}) -> {args.db}")


def _print_plan(plan: dict) -> None:
    out = Table(title=f"plan of sweep {plan['name']} (run {plan['run_id'][:12]}): "
                      f"{plan['cells']} cells x {plan['instances']} instances x {plan['reps']} reps")
    for col in ("features", "k", "gamma", "S", "algorithm", "H", "bound", "cap", "grid", "steps"):
        out.add_column(col, justify="right")
    for r in plan["cell_plan"]:
        out.add_row(r["features"], str(r["k"]), f"{r['gamma']:g}", str(r["S"]),
                    method(r["algorithm"], r["lengths"]),
                    "geometric" if r["horizon"] is None else str(r["horizon"]), _sig(r["bound"]),
                    f"{r['cap']:,}", str(r["grid"]), _sig(r["grid_steps"], 3))
    Console().print(out)
    lines = [f"tasks: {plan['grid_tasks']} for the grids, at most {plan['bisect_tasks_at_most']} "
             f"for bisection ({len(plan['criteria'])} criteria)",
             f"walker-equivalent trajectory steps: {_sig(plan['grid_trajectory_steps'], 3)} "
             f"(grids) + at most {_sig(plan['bisect_trajectory_steps_at_most'], 3)} (bisection)"]
    if "estimated_seconds_grid" in plan:
        lines.append(f"estimated time (rough, from {plan['calibration_cells']} calibration "
                     f"tasks of {plan['calibration_reps']} replicates, "
                     f"{plan['calibration_seconds']:.1f} s in all): grids "
                     f"{plan['estimated_seconds_grid']:.0f} s + bisection at most "
                     f"{plan['estimated_seconds_bisect_at_most']:.0f} s, in process")
    Console().print("\n".join(lines))


def _mstar_summary(store, run_id: str) -> list[dict]:
    cells = {c["cell_id"]: c for c in store.table("cells", run_id)}
    out = []
    for r in store.table("mstar", run_id):
        c = cells[r["cell_id"]]
        out.append({key: c[key] for key in ("features", "k", "gamma", "S", "algorithm", "lengths",
                                            "bound")}
                   | {key: r[key] for key in ("criterion", "instance", "status", "m_star",
                                              "m_lo", "m_hi", "cap", "reps", "evaluated")})
    return sorted(out, key=lambda r: (r["features"], r["k"], r["gamma"], r["algorithm"],
                                      r["lengths"], r["criterion"], r["instance"]))


def _print_mstar(rows: list[dict], title: str) -> None:
    out = Table(title=title)
    for col in ("features", "k", "gamma", "algorithm", "criterion", "instance", "m*",
                escape("[m_lo, m_hi]"), "bound", "bound / m*"):
        out.add_column(col, justify="right")
    for r in rows:
        star = {"above_cap": f"> {r['cap']:,}", "below_min": f"<= {r['m_star']:,}"}.get(
            r["status"], f"{r['m_star']:,}" if r["m_star"] is not None else "-")
        interval = f"[{r['m_lo'] if r['m_lo'] is not None else '-'}, " \
                   f"{r['m_hi'] if r['m_hi'] is not None else '-'}]"
        ratio = _sig(r["bound"] / r["m_star"], 3) if r["status"] == "found" else "-"
        out.add_row(r["features"], str(r["k"]), f"{r['gamma']:g}",
                    method(r["algorithm"], r["lengths"]), r["criterion"],
                    "pooled" if r["instance"] == -1 else str(r["instance"]), star, interval,
                    _sig(r["bound"]), ratio)
    Console().print(out)


@contextmanager
def _sweep_progress(enabled: bool):
    """Bars for finished searches (cells x criteria) and tasks, with ETA and steps/s."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with _bars(enabled, *columns) as bar:
        if bar is None:
            yield None
            return
        ids = {}
        t0 = time.perf_counter()

        def update(event, **info):
            if event == "start":
                ids["search"] = bar.add_task("searches", total=info["searches"], rate="")
                ids["task"] = bar.add_task("tasks", total=0, rate="")
            elif event == "task":
                rate = info["steps"] / max(time.perf_counter() - t0, 1e-9)
                bar.update(ids["task"], completed=info["done"], total=info["submitted"],
                           rate=f"{rate:.2e} steps/s")
            elif event == "search":
                bar.update(ids["search"], completed=info["done"])

        yield update


def _log_progress():
    """--quiet: instead of bars, a log line (stderr) per computed task and per finished search,
    so that a batch job's log shows progress long before the first search ends."""
    t0 = time.perf_counter()

    def log(event, **info):
        if event == "task" and info["computed"]:
            stored = f", {info['cached']} from the store" if info["cached"] else ""
            print(f"mcirl: task {info['done']}/{info['submitted']} done at "
                  f"{time.perf_counter() - t0:.0f} s{stored}", file=sys.stderr)
        elif event == "search":
            r, c = info["result"], info["cell"]
            print(f"mcirl: search {info['done']}/{info['total']} done: {c.family.features} "
                  f"k={c.k} gamma={c.gamma:g} {method(c.algorithm, c.lengths)} "
                  f"{info['criterion']}: {r.status} "
                  f"m*={r.m_star}", file=sys.stderr)
    return log


def _cmd_results(args) -> None:
    from .sweep.store import TABLES, Store

    if args.action == "merge":
        return _merge_results(args)
    if args.sources:
        raise InputError("--from", "only goes with the merge action")
    if not Path(args.db).exists():
        raise InputError("db", "no such results database", str(args.db))
    with Store(args.db) as store:
        if args.action == "list":
            runs = store.runs()
            if args.json:
                return _emit_json(runs)
            out = Table(title=str(args.db))
            for col in ("run", "name", "status", "cells", "tasks", "seconds", "host", "version"):
                out.add_column(col)
            for r in runs:
                out.add_row(r["run_id"][:12], r["name"], r["status"], str(r["cells"]), str(r["tasks"]),
                            f"{r['seconds'] or 0:.1f}", str(r["host"]), str(r["package_version"]))
            return Console().print(out)
        run_id = store.resolve_run(args.run)
        if args.action == "show":
            rows = _mstar_summary(store, run_id)
            if args.json:
                return _emit_json({"run_id": run_id, "mstar": rows,
                                   "estimates": store.table("estimates", run_id) if args.estimates else None})
            _print_mstar(rows, f"run {run_id[:12]} in {args.db}")
            if args.estimates:
                _print_estimates(store.table("estimates", run_id))
            return None
        from .output import output_dir

        out_dir = output_dir(args.output or ".", "--output")
        written = [str(_export(store.table(name, run_id), out_dir / f"{name}.{args.format}", args.format))
                   for name in TABLES]
        if args.json:
            return _emit_json({"run_id": run_id, "files": written})
        print("\n".join(written))


def _merge_results(args) -> None:
    from .sweep.store import TABLES, Store

    if not args.sources:
        raise InputError("--from", "merge needs at least one database to merge from")
    if args.run:
        raise InputError("run", "merge takes every run of its sources; name none", args.run)
    created = not Path(args.db).exists()
    try:
        with Store(args.db) as store:
            merged = store.merge(args.sources)
            runs = store.runs()
    except InputError:
        if created:  # a refused merge into a new file leaves no empty database behind
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        raise
    if args.json:
        return _emit_json({"db": str(args.db), "sources": merged, "runs": len(runs)})
    out = Table(title=f"merged into {args.db} ({len(runs)} runs now): rows added (already there)")
    tables = [t for t in TABLES if any(m["added"][t] + m["present"][t] for m in merged)]
    out.add_column("from", overflow="fold")  # paths that differ only at the end stay apart
    for name in tables:
        out.add_column(name, justify="right")
    for m in merged:
        out.add_row(m["path"], *(f"{m['added'][t]:,} ({m['present'][t]:,})" for t in tables))
    Console().print(out)


def _print_estimates(rows: list[dict]) -> None:
    out = Table(title="estimates")
    for col in ("cell", "instance", "m", "reps", "theorem", "l2", "regret", "non-term", "sampler"):
        out.add_column(col, justify="right")
    for r in rows:
        out.add_row(r["cell_id"][:8], str(r["instance"]), f"{r['m']:,}", str(r["reps"]),
                    str(r["failures_theorem"]), str(r["failures_l2"]), str(r["failures_regret"]),
                    str(r["nonterminated"]), r["sampler"])
    Console().print(out)


def _export(rows: list[dict], path: Path, fmt: str) -> Path:
    """Write rows as CSV (stdlib) or Parquet (pyarrow), atomically."""
    import csv

    from .output import atomic_path

    with atomic_path(path, "--output") as tmp:
        if fmt == "csv":
            with open(tmp, "w", newline="") as f:
                if rows:
                    writer = csv.DictWriter(f, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
        else:
            try:
                import pyarrow as pa
                import pyarrow.parquet as pq
            except ImportError:
                raise InputError("--format", "parquet needs pyarrow: pip install 'mcirl[dist]'") from None
            pq.write_table(pa.Table.from_pylist(rows), tmp)
    return path


# ---------------------------------------------------------------- plot, report, reproduce

def _open_results(db: Path):
    from .sweep.store import Store

    if not Path(db).exists():
        raise InputError("db", "no such results database", str(db))
    return Store(db)


def _cells_of(store, runs, elbows_too=False):
    from .results import collect, collect_elbows

    run_ids = None if not runs else [store.resolve_run(r) for r in runs]
    cells = collect(store, run_ids)
    elbow = collect_elbows(store, run_ids) if elbows_too else ([], [])
    if not cells and not elbow[0]:
        raise InputError("db", "holds no finished cells to plot or report", str(store.path))
    return cells, run_ids, elbow


def _cmd_plot(args) -> None:
    from .plots import write_plots

    with _open_results(args.db) as store:
        cells, _, elbow = _cells_of(store, args.run, elbows_too=True)
    paths = [str(p) for p in write_plots(cells, args.out, args.format, args.criterion, elbow)]
    if args.json:
        return _emit_json({"figures": paths, "cells": len(cells)})
    print("\n".join(paths))


def _cmd_report(args) -> None:
    from .plots import write_plots
    from .report import write_report
    from .results import run_info

    with _open_results(args.db) as store:
        cells, _, _ = _cells_of(store, args.run)
        # the runs whose rows the report shows (not, say, an elbow run in the same database)
        runs = run_info(store, {run for c in cells for run in c.run_ids})
    out = Path(args.output)
    figures = [] if args.no_figures else write_plots(cells, out.parent / "figures", "png",
                                                     args.criterion, field="--output")
    paths = [str(p) for p in write_report(cells, runs, out, args.criterion, figures)]
    if args.json:
        return _emit_json({"report": paths, "figures": [str(f) for f in figures]})
    print("\n".join(paths))


def _cmd_reproduce(args) -> None:
    from .output import output_dir
    from .reproduce import reproduce
    from .sweep.execute import make_executor
    from .sweep.store import Store

    # checked before a database, a cluster or a progress display is started
    out = output_dir(args.out or f"mcirl-{args.study}{'-quick' if args.quick else ''}", "--out")
    with Store(args.db) as store:
        executor = make_executor(args.workers, args.gpus, args.scheduler)
        try:
            with _sweep_progress(not (args.quiet or args.json)) as progress:
                result = reproduce(args.study, args.quick, store, executor, out, args.format,
                                   args.backend, progress if not args.quiet else _log_progress())
        finally:
            executor.close()
        rows = [r for run in result["runs"] for r in _mstar_summary(store, run) if r["instance"] == -1]
    if args.json:
        return _emit_json({**result, "db": str(args.db), "mstar": rows})
    _print_mstar(rows, f"reproduce {args.study}{' --quick' if args.quick else ''} -> {args.db}")
    print("\n".join(["report: " + ", ".join(result["report"]),
                     "figures: " + ", ".join(result["figures"])]))


# ---------------------------------------------------------------- verify

def _range(name, values, kind):
    if values is None:
        return None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise InputError(f"--{name}", "takes one value or LOW HIGH", values)
    return tuple(kind(v) for v in values)


def _cmd_verify(args) -> int:
    from dataclasses import replace

    from .verify.search import VerifyConfig, search
    from .verify.strategies import Ranges

    ranges = Ranges()
    changes = {name: r for name, r in (
        ("S", _range("S", args.S, int)), ("A", _range("A", args.A, int)), ("b", _range("b", args.b, int)),
        ("k", _range("k", args.k, int)), ("gamma", _range("gamma", args.gamma, float)),
        ("eps", _range("eps", args.eps, float)), ("delta", _range("delta", args.delta, float)))
        if r is not None}
    for name in ("families", "features", "weights"):
        if getattr(args, name):
            changes[name] = tuple(getattr(args, name))
    config = VerifyConfig(bound=args.bound, ranges=replace(ranges, **changes), examples=args.examples,
                          reps=args.reps, criterion=args.criterion, algorithm=args.algorithm,
                          max_iter=args.max_iter, sampler=args.sampler, lengths=args.lengths,
                          alpha=args.alpha,
                          seed=args.seed, backend=args.backend)
    if Path(args.out).exists() and not Path(args.out).is_dir():  # found now, not after the search
        raise InputError("--out", "must be a folder (a counterexample is saved into it)", args.out)
    with _progress(not (args.json or args.quiet)) as bar:
        update = None if bar is None else (lambda done, total, ex: bar("examples", done, max(done, total)))
        result = search(config, Path(args.out), update)
    rates = [e.rate for e in result.examples]
    summary = {"bound": result.bound, "examples": len(result.examples),
               "counterexample": result.violation.as_dict() if result.violation else None,
               "reproducer": result.reproducer, "confidence": result.confidence,
               "detectable_rate": result.detectable_rate,
               "max_rate": max(rates) if rates else None,
               "rates": [e.as_dict() for e in result.examples]}
    if args.json:
        _emit_json(summary)
    elif result.violation is None:
        print(f"no counterexample in {len(result.examples)} examples for bound {result.bound!r}: "
              f"failure rates at m = BOUND from {min(rates):.3f} to {max(rates):.3f} "
              f"({config.reps} replicates each, criterion {config.criterion}); each example "
              f"would have flagged a true failure rate >= {result.detectable_rate:.3f} with "
              f"probability 0.9 (one-sided Clopper-Pearson at {result.confidence:.6f})")
    else:
        v = result.violation
        print(f"counterexample to bound {result.bound!r} (after {len(result.examples)} examples, "
              f"shrunk): {v.cell.describe()}\n  at m = {v.m:,}: {v.failures}/{v.reps} failures, "
              f"rate {v.rate:.3f}; one-sided lower bound {v.lower:.4f} > delta = {v.cell.delta:g}\n"
              f"  saved {result.reproducer['npz']}; reproduce with:\n  {result.reproducer['command']}")
    return 1 if result.violation else 0


# ---------------------------------------------------------------- elbow

def _cmd_elbow(args) -> None:
    from dataclasses import asdict

    from .elbow.experiment import elbow_config, fit_scalings, load_elbow_config, run_elbow
    from .sweep.store import Store

    base = asdict(load_elbow_config(args.config)) if args.config else {}
    source = args.config.name if args.config else "options"
    for key in ("name", "k", "d", "noise", "feature_noise", "n_items", "n_min", "n_max", "reps",
                "test_pairs", "ridge", "ranks", "bootstrap", "seed"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    config = elbow_config(base, source)
    with Store(args.db) as store:
        with _progress(not (args.json or args.quiet)) as progress:
            run_id = run_elbow(config, store, resume=args.resume, progress=progress,
                               backend=args.backend)
        elbows = store.table("elbows", run_id)
    full = [e for e in elbows if e["rank"] == e["d"]]
    found = [e for e in full if e["n_elbow"] is not None]
    scalings = {}
    for noise in sorted({e["noise"] for e in found}):
        rows = [e for e in found if e["noise"] == noise]
        if len(rows) >= 2:
            scalings[str(noise)] = {name: {"c": c, "rms_log_residual": r} for name, (c, r) in
                                    fit_scalings([e["k"] for e in rows], [e["n_elbow"] for e in rows]).items()}
    if args.json:
        return _emit_json({"run_id": run_id, "db": str(args.db), "elbows": elbows, "scalings": scalings})
    out = Table(title=f"elbow {config.name} (run {run_id[:12]}) -> {args.db}: rank-d fits, "
                      f"d = {config.d}, {config.reps} replicates")
    for col in ("k", "noise", "N_elbow", "95% bootstrap", "median N_elbow of ranks r < d"):
        out.add_column(col, justify="right")
    for e in full:
        others = [x["n_elbow"] for x in elbows if x["k"] == e["k"] and x["noise"] == e["noise"]
                  and x["rank"] < x["d"] and x["n_elbow"] is not None]
        out.add_row(str(e["k"]), f"{e['noise']:g}",
                    "-" if e["n_elbow"] is None else f"{e['n_elbow']:.0f}",
                    "-" if e["n_low"] is None else f"[{e['n_low']:.0f}, {e['n_high']:.0f}]",
                    f"{np.median(others):.0f}" if others else "-")
    Console().print(out)
    for noise, fits in scalings.items():
        best = min(fits, key=lambda n: fits[n]["rms_log_residual"])
        Console().print(f"temperature {noise}: best scaling N_elbow ~ {fits[best]['c']:.3g} x {best} "
                        + ", ".join(f"{n}: rms {f['rms_log_residual']:.2f}" for n, f in fits.items()))


# ---------------------------------------------------------------- parser

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mcirl", description="Monte Carlo verification of apprenticeship-"
                     "learning sample complexity.")
    parser.add_argument("--version", action="version", version=f"mcirl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("bound", help="theoretical bounds and the seed table")
    p.add_argument("--k", type=_count, nargs="+", help="features (one or more)")
    p.add_argument("--gamma", type=_real, nargs="+", help="discounts (one or more)")
    p.add_argument("--eps", type=_real, default=0.1)
    p.add_argument("--delta", type=_real, default=0.05)
    p.add_argument("--variance", type=_real,
                   help="largest per-coordinate variance of (1-gamma) sum_t gamma^t phi(s_t), "
                        "in [0, 1/4]: adds the empirical-Bernstein bound")
    p.add_argument("--seed-table", action="store_true",
                   help="the gamma x k table of m_AN (default k = 10 1000, gamma = 0.9 0.99)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_bound)

    mdp = sub.add_parser("mdp", help="make or inspect MDP files (.npz)")
    mdp_sub = mdp.add_subparsers(dest="mdp_command", required=True, parser_class=_Parser)
    p = mdp_sub.add_parser("make", help="draw an MDP from a family and write it")
    _add_family_options(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="FILE.npz")
    p.add_argument("--backend", choices=BACKENDS, default="cpu", help="where the expert is solved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_mdp_make)
    p = mdp_sub.add_parser("info", help="validate and describe an MDP file")
    p.add_argument("file", type=Path)
    p.add_argument("--backend", choices=BACKENDS, default="cpu", help="where the expert is solved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_mdp_info)

    p = sub.add_parser("estimate", help="failure rate of apprenticeship learning at each m")
    p.add_argument("--mdp", type=Path, help="an MDP file (.npz); otherwise the family options")
    _add_family_options(p)
    p.add_argument("--m", type=_m_value, nargs="+", required=True,
                   help="trajectory counts (1e4 notation and 'bound' = ceil(m_AN) accepted)")
    p.add_argument("--eps", type=_real, default=0.1)
    p.add_argument("--delta", type=_real, default=0.05)
    p.add_argument("--reps", type=_count, default=100, help="replicates (default 100)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="projection")
    p.add_argument("--criterion", choices=CRITERIA, default="theorem")
    p.add_argument("--max-iter", dest="max_iter", type=_count, default=1000,
                   help="learner iteration cap; hitting it is a failure (default 1000)")
    p.add_argument("--seed", type=_count, default=0, help="seed of the expert trajectories")
    p.add_argument("--sampler", choices=SAMPLERS, default="counts")
    p.add_argument("--lengths", choices=LENGTHS, default="truncated",
                   help="expert trajectories truncated at H (default) or of geometric length "
                        "(unbiased; P(L > t) = gamma^t)")
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=_cmd_estimate)

    p = sub.add_parser("sweep", help="run a TOML experiment config: m* per cell, into SQLite")
    p.add_argument("config", type=Path, help="CONFIG.toml (see examples/)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB), help=f"results file (default {DEFAULT_DB})")
    p.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="print the plan and a time estimate; run nothing")
    p.add_argument("--no-calibrate", dest="no_calibrate", action="store_true",
                   help="with --dry-run: skip the calibration task")
    p.add_argument("--resume", action="store_true", help="continue a sweep already in the database")
    p.add_argument("--backend", choices=BACKENDS,
                   help="overrides the config's backend (default: the config's, else cpu)")
    p.add_argument("--workers", type=_count, help="run on a Dask LocalCluster of N workers")
    p.add_argument("--gpus", help="'all': a dask-cuda LocalCUDACluster, one worker per GPU")
    p.add_argument("--scheduler", help="join an existing Dask cluster at ADDRESS")
    p.add_argument("--quiet", action="store_true", help="log lines instead of progress bars")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_sweep)

    p = sub.add_parser("results", help="list, show, export and merge stored sweep results")
    p.add_argument("action", choices=("list", "show", "export", "merge"))
    p.add_argument("run", nargs="?", help="run id prefix or name (default: the latest run)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB),
                   help=f"results file (default {DEFAULT_DB}); merge: the one merged into, "
                        "created if missing")
    p.add_argument("--from", dest="sources", type=Path, nargs="+", metavar="DB",
                   help="merge: the databases whose rows are copied in (read-only)")
    p.add_argument("--estimates", action="store_true", help="show: every estimate row too")
    p.add_argument("--format", choices=("csv", "parquet"), default="csv", help="export format")
    p.add_argument("-o", "--output", help="export: folder for the files (default .)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_results)

    def add_output_options(p, default_db=True):
        p.add_argument("--db", type=Path, default=Path(DEFAULT_DB), help=f"results file (default {DEFAULT_DB})")
        p.add_argument("--run", nargs="+", help="run ids or names (default: every run in the db)")
        p.add_argument("--criterion", choices=CRITERIA, default="theorem")
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("plot", help="empirical-vs-theory figures from a results database")
    add_output_options(p)
    p.add_argument("--out", type=Path, default=Path("figures"), help="folder (default ./figures)")
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.set_defaults(handler=_cmd_plot)

    p = sub.add_parser("report", help="report.md and report.html from a results database")
    add_output_options(p)
    p.add_argument("-o", "--output", default="report.md", help="report.md (report.html beside it)")
    p.add_argument("--no-figures", dest="no_figures", action="store_true")
    p.set_defaults(handler=_cmd_report)

    p = sub.add_parser("elbow", help="the pairwise-comparison elbow experiment (k-dim utilities)")
    p.add_argument("config", nargs="?", type=Path, help="CONFIG.toml (keys as the options)")
    p.add_argument("--name")
    p.add_argument("--k", type=_count, nargs="+", help="latent dimensions (default 2 5 10 20)")
    p.add_argument("--d", type=_count, help="feature dimension (default 20)")
    p.add_argument("--noise", type=_real, nargs="+", help="Bradley-Terry temperatures (default 1)")
    p.add_argument("--feature-noise", dest="feature_noise", type=_real)
    p.add_argument("--n-items", dest="n_items", type=_count)
    p.add_argument("--n-min", dest="n_min", type=_count)
    p.add_argument("--n-max", dest="n_max", type=_count, help="most comparisons (default 2048)")
    p.add_argument("--reps", type=_count, help="training sets per cell (default 20)")
    p.add_argument("--test-pairs", dest="test_pairs", type=_count)
    p.add_argument("--ridge", type=_real)
    p.add_argument("--ranks", type=_count, nargs="+", help="model ranks (default 1..d)")
    p.add_argument("--bootstrap", type=_count)
    p.add_argument("--seed", type=_count)
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB))
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_elbow)

    p = sub.add_parser("verify", help="search MDPs for a significant violation of a bound")
    p.add_argument("bound", help="a bound name (see mcirl bound) or a formula in k, gamma, eps, "
                                 "delta, S, A, b, e.g. '8*log(2/delta)/(eps*(1-gamma))**2'")
    p.add_argument("--family", dest="families", nargs="+", choices=("garnet", "dirichlet"))
    for name, kind, default in (("S", _count, "4 32"), ("A", _count, "2 4"), ("b", _count, "2 4"),
                                ("k", _count, "1 8"), ("gamma", _real, "0.5 0.9"),
                                ("eps", _real, "0.2 1"), ("delta", _real, "0.05")):
        p.add_argument(f"--{name}", type=kind, nargs="+", metavar=("LOW", "HIGH"),
                       help=f"range explored (default {default})")
    p.add_argument("--features", nargs="+", choices=("onehot", "dense", "sparse"))
    p.add_argument("--weights", nargs="+", choices=("dense", "sparse"))
    p.add_argument("--examples", type=_count, default=20, help="cells to try (default 20)")
    p.add_argument("--reps", type=_count, default=200, help="replicates per cell (default 200)")
    p.add_argument("--criterion", choices=CRITERIA, default="theorem")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="projection")
    p.add_argument("--max-iter", dest="max_iter", type=_count, default=1000)
    p.add_argument("--sampler", choices=SAMPLERS, default="auto")
    p.add_argument("--lengths", choices=LENGTHS, default="truncated",
                   help="expert trajectories truncated at H (default) or of geometric length")
    p.add_argument("--alpha", type=_real, default=1e-3,
                   help="false-alarm probability of the whole search (default 1e-3)")
    p.add_argument("--seed", type=_count, default=0)
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--out", default="mcirl-verify", help="folder for a counterexample (.npz)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_verify)

    p = sub.add_parser("reproduce", help="run a study end to end: sweeps, figures, report")
    p.add_argument("study", choices=("seed-table", "gridworld"))
    p.add_argument("--quick", action="store_true", help="a CPU-sized version (minutes on 2 cores)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB))
    p.add_argument("--out", help="folder for figures and report (default mcirl-<study>[-quick])")
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--workers", type=_count, help="run on a Dask LocalCluster of N workers")
    p.add_argument("--gpus", help="'all': one Dask worker per GPU")
    p.add_argument("--scheduler", help="join an existing Dask cluster at ADDRESS")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_cmd_reproduce)
    return parser


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in exc's chain of causes: Ctrl-C landing inside a Numba
    function's call surfaces as a SystemError raised from it ("returned a result with an
    exception set")."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
    except InputError as exc:
        print(f"mcirl: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError as exc:
        # Limits keep sizes within int32 and tables within 2^32 entries; what still does not fit
        # this machine's memory ends here (NumPy's message says how much was asked for).
        print(f"mcirl: error: out of memory: {str(exc) or 'an allocation failed'}; use fewer "
              "states, features or replicates", file=sys.stderr)
        return EXIT_INPUT
    except (KeyboardInterrupt, SystemError) as exc:
        if not _caused_by_interrupt(exc):
            raise
        print("mcirl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mcirl ... --json | head`): stop quietly as a Unix filter does,
        # with stdout sent nowhere so that the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
