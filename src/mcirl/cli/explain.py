"""``mcirl explain``: why the Abbeel-Ng bound is loose on an MDP, and the m* to expect.

On one MDP (a family spec or ``--mdp FILE``): the ladder of relaxations from m_AN down to the
predicted m*, the spread of the expert's trajectory sums, the predicted m* per criterion, and,
with ``--db``, the measured m* of the same cell pooled over its stored instances. With ``--db``
alone: every stored cell, predicted (pooled over its instances) against measured.
"""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import InputError
from ..ladder import CONE_DRAWS, CONE_K_AUTO, DRAWS, EXACT_DRAWS, TERMINATIONS
from ..sample import LENGTHS
from ..output import count_text, counted, number_text
from .common import add_dry_run_options, bars, count_arg, emit_json, print_table, real_arg
from .mdp import add_family_options, family_spec


#: Most instances per cell explain draws MDPs for (--config).
MAX_INSTANCES = 1000


def run(args) -> None:
    from ..explain import ExplainConfig

    config = ExplainConfig(eps=args.eps, delta=args.delta, lengths=args.lengths, draws=args.draws,
                           seed=args.seed, termination_draws=args.termination_draws,
                           termination=args.termination)
    given = [flag for dest, flag in args.family_options if getattr(args, dest) is not None]
    if args.mdp is not None and given:
        raise InputError("mdp", f"--mdp FILE excludes the family options (got {given[0]})")
    if args.db is not None and not args.db.exists():
        raise InputError("db", "no such results database", str(args.db))
    if args.config is not None:
        if args.mdp is not None or given:
            raise InputError("config", "excludes --mdp and the family options (its cells name "
                             "their MDPs)", str(args.config))
        if args.dry_run:
            return _dry_run(args, config)
        return _config_cells(args, config)
    if args.dry_run:
        if args.db is None or args.mdp is not None or given:
            raise InputError("--dry-run", "goes with --config or --db (one MDP is explained in seconds)")
        return _dry_run(args, config)
    if args.db is not None and args.mdp is None and not given:
        return _stored_cells(args, config)
    if args.run:
        raise InputError("run", "goes with --db alone (every stored cell)", args.run[0])
    return _one_mdp(args, config)


def _progress_columns():
    return (TextColumn("{task.description:<12}"), BarColumn(),
            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), TimeRemainingColumn())


def _one_mdp(args, config) -> None:
    from ..explain import explain_stored
    from ..mdp import load_npz, make_mdp

    spec = None if args.mdp is not None else family_spec(args)
    mdp = load_npz(args.mdp) if spec is None else make_mdp(spec)
    config.check_mdp(mdp)
    with bars(not (args.json or args.quiet), *_progress_columns()) as bar:
        task = None if bar is None else bar.add_task("termination", total=None)
        progress = None if bar is None else (
            lambda done, total: bar.update(task, completed=done, total=total))
        from ..explain import explain_mdp

        result = explain_mdp(mdp, config, mdp_seed=None if spec is None else spec.seed,
                             progress=progress)
        cell = None
        if args.db is not None and spec is not None:
            cell = _matching_cell(args.db, spec, result)
            if cell is not None:
                store, summary = cell
                with store:
                    cell = explain_stored(summary, config)
    if args.json:
        out = result.as_dict()
        if args.db is not None:
            out["stored_cell"] = None if cell is None else cell.as_dict()
        return emit_json(out)
    _print_explanation(result)
    if args.db is not None:
        _print_cell_comparison(cell, spec)


def _matching_cell(db: Path, spec, result):
    """(store, cell summary) of the stored cell with this family (any MDP seed), eps, delta and
    lengths (the most replicated if several), or None."""
    from dataclasses import replace

    from ..results import collect
    from ..store import Store

    store = Store(db, readonly=True)
    target = replace(spec, seed=0)
    hits = []
    for cell in collect(store):
        if (cell.spec == target and cell.eps == result.eps
                and cell.delta == result.delta and cell.lengths == result.lengths):
            hits.append(cell)
    if not hits:
        store.close()
        return None
    return store, max(hits, key=lambda c: int(c.reps.max()))


def _print_explanation(r) -> None:
    lengths = "geometric lengths" if r.horizon is None else f"H = {r.horizon}"
    out = Table(title=f"Why m_AN is loose: S = {r.S}, k = {r.k}, gamma = {r.gamma:g}, "
                      f"eps = {r.eps:g}, delta = {r.delta:g}, {lengths}")
    for col in ("step", "m", "factor"):
        out.add_column(col, justify="right" if col != "step" else "left")
    notes = {"Abbeel-Ng bound": "Hoeffding range 1/(1-gamma), union bound, sqrt(k), eps/2",
             "variance": "each coordinate's own spread (Gaussian), union bound",
             "joint": "the joint law of the k errors",
             "l2 direct": "||.||_2's own law, not sqrt(k) ||.||_inf",
             "learner's need": "accuracy eps, not the proof's eps/2: m* for l2 (CLT)"}
    for step in r.ladder:
        out.add_row(f"{step['step']}: {notes[step['step']]}", count_text(step["m"]),
                    "" if step["step"] == "Abbeel-Ng bound" else f"{step['factor']:.3g}x")
    print_table(out)
    Console().print(
        f"Sigma (one trajectory's feature sum): tr = {number_text(r.trace_sigma)}, max_i Sigma_ii = "
        f"{number_text(r.max_variance)}, ||Sigma||_2 = {number_text(r.top_eigenvalue)}, effective dimension "
        f"tr/||.||_2 = {number_text(r.effective_dimension)}, (tr)^2/||.||_F^2 = "
        f"{number_text(r.frobenius_dimension)}; w*^T Sigma w* = {number_text(r.reward_variance)}")
    pred = Table(title="Predicted m* (asymptotic CLT approximation, not a bound)")
    for col in ("criterion", "predicted m*", "Monte Carlo interval", "without termination"):
        pred.add_column(col, justify="right")
    for c, m in r.predicted_mstar.items():
        lo, hi = r.predicted_interval[c]
        alone = r.predicted_without_termination.get(c)
        pred.add_row(c, count_text(m), f"[{count_text(lo)}, {count_text(hi)}]",
                     "" if alone is None else count_text(alone))
    print_table(pred)
    if r.termination_draws:
        how = ("exactly: one conic program each" if r.termination_model == "exact"
               else "by the tangent cone: a lower bound on its failures")
        Console().print(f"termination modelled on {r.termination_draws:,} draws, {how} (mu_hat_E "
                        "farther than eps/2 from the achievable set: the learner cannot stop)")
    else:
        Console().print(f"termination not modelled (by default only for k <= {CONE_K_AUTO}): "
                        "--termination-draws N models it, one NNLS per draw (~60 ms each at "
                        "k = 100, ~1.5 s at k = 1000 with S = 1024)")


def _print_cell_comparison(cell, spec) -> None:
    if spec is None:
        return Console().print("--db: an MDP file names no family, so no stored cell matches it")
    if cell is None:
        return Console().print("--db: no stored cell has this family, eps, delta and lengths")
    _print_cells([cell], f"the stored cell, pooled over its {counted(len(cell.instances), 'instance')} "
                         f"(MDP seeds {', '.join(str(e.mdp_seed) for e in cell.instances)})")


def _print_cells(cells, title) -> None:
    from ..ladder import PREDICTED
    from ..report import prediction_text
    from ..results import mstar_text

    out = Table(title=f"Predicted against measured m*: {title}")
    for col in ("cell", "criterion", "predicted", "measured m* [interval]", "predicted / measured"):
        out.add_column(col, justify="right" if col != "cell" else "left")
    for cell in cells:
        for c in PREDICTED:
            ratio = cell.ratio(c)
            out.add_row(cell.label, c, prediction_text(cell.predicted.get(c)),
                        mstar_text(cell.measured.get(c)),
                        "-" if math.isnan(ratio) else f"{ratio:.2f}")
    print_table(out)


def _stored_cells(args, config) -> None:
    from ..explain import explain_cells
    from ..results import collect
    from ..store import Store

    with Store(args.db, readonly=True) as store:
        run_ids = None if not args.run else [store.resolve_run(r) for r in args.run]
        cells = collect(store, run_ids)
        if not cells:
            raise InputError("db", "holds no cells with stored estimates", str(args.db))
        with bars(not (args.json or args.quiet), *_progress_columns()) as bar:
            task = None if bar is None else bar.add_task("cells", total=len(cells))
            out = explain_cells(cells, config, progress=None if bar is None else (
                lambda done, total: bar.update(task, completed=done)))
    _print_many(args, out, f"every cell of {args.db}, pooled over each cell's instances")


def _config_cells(args, config) -> None:
    from ..explain import explain_sweep
    from ..results import collect
    from ..sweep.config import load_config
    from ..sweep.plan import cells
    from ..store import Store

    sweep = load_config(args.config)
    if sweep.instances.count > MAX_INSTANCES:
        raise InputError("instances.count", f"explain draws every instance's MDP: at most "
                         f"{MAX_INSTANCES:,}", sweep.instances.count)
    measured = []
    if args.db is not None:
        with Store(args.db, readonly=True) as store:
            measured = collect(store)
    with bars(not (args.json or args.quiet), *_progress_columns()) as bar:
        task = None if bar is None else bar.add_task("cells", total=len(cells(sweep)))
        out = explain_sweep(sweep, config, measured, progress=None if bar is None else (
            lambda done: bar.update(task, completed=done)))
    where = f", measured in {args.db}" if args.db is not None else ""
    _print_many(args, out, f"the cells of {args.config}, pooled over each cell's "
                           f"{counted(sweep.instances.count, 'instance')}{where}")


def _dry_run(args, config) -> None:
    """The cells and instances --config or --db would explain, and a rough estimate."""
    from ..explain import plan_explanations, stored_families, sweep_families

    if args.config is not None:
        from ..sweep.config import load_config

        planned, source = sweep_families(load_config(args.config)), str(args.config)
    else:
        from ..results import collect
        from ..store import Store

        with Store(args.db, readonly=True) as store:
            run_ids = None if not args.run else [store.resolve_run(r) for r in args.run]
            planned, source = stored_families(collect(store, run_ids)), str(args.db)
    plan = plan_explanations(planned, config, calibrate=not args.no_calibrate)
    if args.json:
        return emit_json(plan)
    lines = [f"plan of explain {source}: {counted(plan['cells'], 'cell')}, "
             f"{counted(plan['instances'], 'instance')} in all, {plan['draws']:,} Gaussian draws and "
             + ("the default termination draws" if plan["termination_draws"] is None
                else f"{plan['termination_draws']:,} termination draws") + " per instance"]
    if "estimated_seconds_at_most" in plan:
        most = number_text(plan["estimated_seconds_at_most"])
        lines.append(f"estimated time (rough: every instance costed as one of the cell at {plan['costliest']}, "
                     f"{plan['calibration_seconds']:.1f} s): at most {most} s")
    Console().print("\n".join(lines))


def _print_many(args, out, title) -> None:
    if args.json:
        return emit_json([c.as_dict() for c in out])
    _print_cells(out, title)
    draws = {(e.termination_model, e.termination_draws) for c in out for e in c.instances}
    Console().print("termination: " + "; ".join(
        f"{model} model on {n:,} draws per instance" if n else "not modelled"
        for model, n in sorted(draws)))
    within = [abs(math.log(r)) <= math.log(1.25) for c in out for r in
              (c.ratio("l2"), c.ratio("theorem")) if not math.isnan(r)]
    if within:
        Console().print(f"l2 and theorem: {sum(within)} of {len(within)} predictions within a "
                        "factor 1.25 of the measured m*")


def add_termination_options(p) -> None:
    """--termination and --termination-draws, for every command that predicts m*."""
    p.add_argument("--termination", choices=TERMINATIONS, default=TERMINATIONS[0],
                   help="model of the learner's termination: the tangent cone (default; fast, "
                        "a lower bound on its failures) or the exact achievable set (one conic "
                        "program per draw)")
    p.add_argument("--termination-draws", dest="termination_draws", type=count_arg,
                   help=f"draws of the termination model (default: cone {CONE_DRAWS:,} for k <= "
                        f"{CONE_K_AUTO}, else 0; exact {EXACT_DRAWS:,})")


def register(sub) -> None:
    p = sub.add_parser("explain", help="why the bound is loose on an MDP, and the m* to expect")
    p.add_argument("--mdp", type=Path, help="an MDP file (.npz); otherwise the family options")
    add_family_options(p)
    p.add_argument("--eps", type=real_arg, default=0.1, help="accuracy (default 0.1)")
    p.add_argument("--delta", type=real_arg, default=0.05, help="failure probability (default 0.05)")
    p.add_argument("--lengths", choices=LENGTHS, default="truncated",
                   help="expert trajectories truncated at H (default) or of geometric length")
    p.add_argument("--draws", type=count_arg, default=DRAWS,
                   help=f"Monte Carlo draws of the Gaussian error per MDP (default {DRAWS:,})")
    add_termination_options(p)
    p.add_argument("--seed", type=count_arg, default=0, help="seed of the Monte Carlo draws")
    p.add_argument("--config", type=Path, help="a sweep config (TOML): every cell of it, on "
                   "the MDPs its instances will draw, before running it")
    p.add_argument("--db", type=Path, help="a results database: the measured m* of the same "
                   "cell; alone, every stored cell predicted against measured")
    p.add_argument("--run", nargs="+", help="with --db alone: these runs only (ids or names)")
    add_dry_run_options(p, "with --config or --db: the cells and instances, and a rough estimate; explain nothing",
                        "skip the timed instance (no estimate)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=run)
