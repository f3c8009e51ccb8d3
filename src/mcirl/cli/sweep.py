"""``mcirl sweep`` and ``mcirl reproduce``: run experiment configs into the results store, with
progress, and print each search's m*."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..backend import BACKENDS
from ..errors import HORIZON_MAX, TASKS_MAX, InputError
from ..results import method_of, mstar_summary, mstar_text, resolved
from ..store import DEFAULT_DB, Store
from ..output import count_text, counted, number_text
from .common import add_dry_run_options, add_learner_options, bars, count_arg, emit_json, print_table


def run(args) -> None:
    from dataclasses import replace

    from ..sweep.config import load_config
    from ..sweep.execute import check_executor_options, make_executor
    from ..sweep.runner import dry_run, drive_sweep

    config = load_config(args.config)
    if args.backend is not None:  # part of the run id: a GPU run never resumes a CPU one
        config = replace(config, backend=args.backend)
    config = config.with_learner(args.projection_step, args.certificate)
    if args.dry_run:  # checks all that the run checks, short of starting a cluster
        check_executor_options(args.workers, args.gpus, args.scheduler)
        plan = dry_run(config, calibrate=not args.no_calibrate, limits=_limits(args))
        _check_memory(plan, args.workers)
        if args.json:
            return emit_json(plan)
        return _print_plan(plan)
    from ..sweep.plan import cells, check_limits

    check_limits(config, cells(config), **_limits(args))  # before a database is made
    with Store(args.db) as store:
        executor = make_executor(args.workers, args.gpus, args.scheduler)
        try:
            with _sweep_progress(not (args.quiet or args.json)) as progress:
                run_id = drive_sweep(config, store, executor, resume=args.resume, limits=_limits(args),
                                   progress=progress if not args.quiet else _log_progress())
        finally:
            executor.close()
        rows = mstar_summary(store, run_id)
    if args.json:
        return emit_json({"run_id": run_id, "db": str(args.db), "mstar": rows})
    print_mstar(rows, f"sweep {config.name} (run {run_id[:12]}) -> {args.db}")


def _machine_bytes() -> int:
    """Physical memory of this machine."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _check_memory(plan: dict, workers: int | None) -> None:
    """Refuse a plan whose tasks, as many at once as there are workers, would not fit this
    machine's memory by the calibration's estimate."""
    peak = plan.get("estimated_peak_bytes_per_task")
    at_once = max(1, workers or 1)
    if peak is not None and peak * at_once > _machine_bytes():
        raise InputError("instances.reps_per_task", f"must be lower: a task is expected to hold "
                         f"{peak / 2**30:.1f} GiB, x {at_once} at once, and this machine has "
                         f"{_machine_bytes() / 2**30:.1f} GiB (fewer replicates per task, or "
                         "fewer workers)", plan["reps"])


def _print_plan(plan: dict) -> None:
    out = Table(title=f"plan of sweep {plan['name']} (run {plan['run_id'][:12]}): "
                      f"{counted(plan['cells'], 'cell')} x {counted(plan['instances'], 'instance')} x "
                      f"{counted(plan['reps'], 'replicate')}")
    for col in ("features", "k", "gamma", "S", "algorithm", "H", "bound", "cap", "grid", "steps"):
        out.add_column(col, justify="right")
    for r in plan["cell_plan"]:
        out.add_row(r["features"], str(r["k"]), f"{r['gamma']:g}", str(r["S"]),
                    method_of(r),
                    "geometric" if r["horizon"] is None else count_text(r["horizon"]), count_text(r["bound"]),
                    count_text(r["cap"]), str(r["grid"]), number_text(r["grid_steps"]))
    print_table(out)
    lines = [f"tasks: {plan['grid_tasks']} for the grids, at most {plan['bisect_tasks_at_most']} "
             f"for bisection ({counted(len(plan['criteria']), 'criterion')})",
             f"walker-equivalent trajectory steps: {number_text(plan['grid_trajectory_steps'])} "
             f"(grids) + at most {number_text(plan['bisect_trajectory_steps_at_most'])} (bisection)"]
    if "estimated_seconds_grid" in plan:
        lines.append(f"estimated time (rough, from {plan['calibration_cells']} calibration "
                     f"tasks of {plan['calibration_reps']} replicates, "
                     f"{plan['calibration_seconds']:.1f} s in all): grids "
                     f"{plan['estimated_seconds_grid']:.0f} s + bisection at most "
                     f"{plan['estimated_seconds_bisect_at_most']:.0f} s, in process; expected "
                     f"peak memory per task {plan['estimated_peak_bytes_per_task'] / 2**30:.2g} GiB")
    Console().print("\n".join(lines))


def print_mstar(rows: list[dict], title: str) -> None:
    out = Table(title=title)
    # eps and delta get a column where the rows hold several (a grid over them)
    swept = [name for name in ("eps", "delta") if len({r.get(name) for r in rows}) > 1]
    for col in ("features", *swept, "k", "gamma", "algorithm", "criterion", "instance",
                escape("m* [m_lo, m_hi]"), "undecided as successes", "bound", "bound / m*"):
        out.add_column(col, justify="right")
    flagged = False
    for r in rows:
        ratio = number_text(r["bound"] / r["m_star"]) if resolved(r) else "-"
        other = mstar_text(r["undecided_as_success"]) if r["cap_sensitive"] else "same"
        flagged |= bool(r["cap_sensitive"])
        out.add_row(r["features"], *(f"{r[name]:g}" for name in swept), str(r["k"]), f"{r['gamma']:g}",
                    method_of(r), r["criterion"],
                    "pooled" if r["instance"] == -1 else str(r["instance"]), escape(mstar_text(r)),
                    escape(other), count_text(r["bound"]), ratio)
    print_table(out)
    if flagged:
        Console().print("m* depends on the learner's cap where the last two columns differ: rows "
                        "stopped by the cap (undecided) count as failures in m*; raise the "
                        "cap (search.max_iter) to decide them.")


@contextmanager
def _sweep_progress(enabled: bool):
    """A bar for finished searches (cells x criteria, a total known from the start) and a line
    for tasks: done of those submitted so far, and the measured rate. The tasks get no bar and
    no remaining time: the searches submit bisection tasks as they go, so their total is not
    known until the end."""
    columns = (TextColumn("{task.description:<9}"), BarColumn(),
               TextColumn("{task.fields[count]}"), TextColumn("{task.fields[rate]}"), TimeElapsedColumn())
    with bars(enabled, *columns) as bar:
        if bar is None:
            yield None
            return
        ids = {}
        t0 = time.perf_counter()

        def update(event, **info):
            if event == "start":
                ids["searches"] = info["searches"]
                ids["search"] = bar.add_task("searches", total=info["searches"],
                                             count=f"0/{info['searches']}", rate="")
                ids["task"] = bar.add_task("tasks", total=None, count="0 done", rate="")
            elif event == "task":
                rate = info["steps"] / max(time.perf_counter() - t0, 1e-9)
                bar.update(ids["task"], completed=info["done"],
                           count=f"{info['done']:,} done of {info['submitted']:,} submitted so far",
                           rate=f"{number_text(rate)} steps/s")
            elif event == "search":
                bar.update(ids["search"], completed=info["done"], count=f"{info['done']}/{ids['searches']}")

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
                  f"k={c.k} gamma={c.gamma:g} {c.method} "
                  f"{info['criterion']}: {r.status} "
                  f"m*={r.m_star}", file=sys.stderr)
    return log


def _reproduce(args) -> None:
    from ..backend import resolve_backend
    from ..output import output_dir
    from ..reproduce import CONFIRM_SECONDS, configs, reproduce
    from ..sweep.execute import check_executor_options, make_executor
    from ..sweep.runner import dry_run

    study = f"{args.study}{' --quick' if args.quick else ''}"
    planned = configs(args.study, args.quick, args.backend, args.projection_step, args.certificate)
    check_executor_options(args.workers, args.gpus, args.scheduler)
    # a full study on a CPU runs for hours: it starts only once its estimate is seen and accepted
    confirm = not (args.quick or args.yes or args.dry_run) and resolve_backend(args.backend) == "cpu"
    if args.dry_run or confirm:
        if confirm and not args.json:
            Console(stderr=True).print(f"mcirl: timing calibration tasks to estimate reproduce {study} "
                                       "on this CPU (--yes skips this)...")
        plans = [dry_run(c, calibrate=not args.no_calibrate) for c in planned]
        seconds = _estimated_seconds(plans)
        if args.dry_run:
            if args.json:
                return emit_json({"study": study, "plans": plans, "estimated_seconds_at_most": seconds})
            for plan in plans:
                _print_plan(plan)
            return None
        if seconds is not None and seconds > CONFIRM_SECONDS:
            for plan in plans:
                _print_plan(plan)
            question = (f"reproduce {study} is estimated at up to {seconds / 3600:.1f} hours on this "
                        "CPU (above: grids + bisection, in process)")
            if not (sys.stdin.isatty() and not args.json and _ask(f"{question}. Run it? [y/N] ")):
                raise InputError("--yes", f"{question}; pass --yes to run it anyway, --quick for the "
                                 "CPU-sized version, or --dry-run to see the plan")
    # checked before a database, a cluster or a progress display is started
    out = output_dir(args.out or f"mcirl-{args.study}{'-quick' if args.quick else ''}", "out")
    with Store(args.db) as store:
        executor = make_executor(args.workers, args.gpus, args.scheduler)
        try:
            with _sweep_progress(not (args.quiet or args.json)) as progress:
                result = reproduce(args.study, args.quick, store, executor, out, args.format,
                                   args.backend, progress if not args.quiet else _log_progress(),
                                   args.projection_step, args.certificate)
        finally:
            executor.close()
        rows = [r for run in result["runs"] for r in mstar_summary(store, run) if r["instance"] == -1]
    if args.json:
        return emit_json({**result, "db": str(args.db), "mstar": rows})
    print_mstar(rows, f"reproduce {args.study}{' --quick' if args.quick else ''} -> {args.db}")
    print("\n".join(["report: " + ", ".join(result["report"]),
                     "figures: " + ", ".join(result["figures"])]))


def _estimated_seconds(plans) -> float | None:
    """The plans' summed estimate, grids plus the most bisection can add (None uncalibrated)."""
    if not all("estimated_seconds_grid" in p for p in plans):
        return None
    return sum(p["estimated_seconds_grid"] + p["estimated_seconds_bisect_at_most"] for p in plans)


def _ask(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _limits(args) -> dict:
    return {"max_tasks": args.max_tasks, "max_horizon": args.max_horizon}


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a TOML experiment config: m* per cell, into SQLite")
    p.add_argument("config", type=Path, help="CONFIG.toml (see examples/)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB), help=f"results file (default {DEFAULT_DB})")
    add_dry_run_options(p, "print the plan and a time estimate; run nothing",
                        "skip the calibration task")
    p.add_argument("--resume", action="store_true", help="continue a sweep already in the database")
    p.add_argument("--backend", choices=BACKENDS,
                   help="overrides the config's backend (default: the config's, else cpu)")
    add_learner_options(p, override=True)
    p.add_argument("--workers", type=count_arg, help="run on a Dask LocalCluster of N workers")
    p.add_argument("--gpus", help="'all': a dask-cuda LocalCUDACluster, one worker per GPU")
    p.add_argument("--scheduler", help="join an existing Dask cluster at ADDRESS")
    p.add_argument("--max-tasks", dest="max_tasks", type=count_arg, default=TASKS_MAX,
                   help=f"most grid tasks the plan may hold (default {TASKS_MAX:,})")
    p.add_argument("--max-horizon", dest="max_horizon", type=count_arg, default=HORIZON_MAX,
                   help=f"most steps of a truncated trajectory (default {HORIZON_MAX:,})")
    p.add_argument("--quiet", action="store_true", help="log lines instead of progress bars")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)

    p = sub.add_parser("reproduce", help="run a study end to end: sweeps, figures, report")
    p.add_argument("study", choices=("seed-table", "gridworld"))
    p.add_argument("--quick", action="store_true", help="a CPU-sized version (minutes on 2 cores)")
    add_dry_run_options(p, "print each sweep's plan and a time estimate; run nothing",
                        "skip the calibration tasks (no time estimate)")
    p.add_argument("--yes", action="store_true",
                   help="run a full study on a CPU without asking, whatever its estimate (without "
                        "it, one estimated above an hour asks, or stops when not at a terminal)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB))
    p.add_argument("--out", help="folder for figures and report (default mcirl-<study>[-quick])")
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    add_learner_options(p, override=True)
    p.add_argument("--workers", type=count_arg, help="run on a Dask LocalCluster of N workers")
    p.add_argument("--gpus", help="'all': one Dask worker per GPU")
    p.add_argument("--scheduler", help="join an existing Dask cluster at ADDRESS")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_reproduce)
