"""``mcirl plot`` and ``mcirl report``: figures and the report from a results database."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..learn import CRITERIA
from ..store import DEFAULT_DB, Store
from .common import emit_json
from .explain import add_termination_options


def _check_db(db: Path) -> None:
    if not Path(db).exists():
        raise InputError("db", "no such results database", str(db))


def _cells_of(store, runs, elbows_too=False):
    from ..results import collect, collect_elbows

    run_ids = None if not runs else [store.resolve_run(r) for r in runs]
    cells = collect(store, run_ids)
    elbow = collect_elbows(store, run_ids) if elbows_too else ([], [])
    if not cells and not elbow[0]:
        raise InputError("db", "holds no finished cells to plot or report", str(store.path))
    return cells, elbow


def _explanations(store, cells, args) -> list:
    """The cells explained on their stored instances' MDPs (mcirl.explain) under the termination
    model args asks for, with a progress bar; [] with --no-ladder."""
    if args.no_ladder or not cells:
        return []
    from ..explain import ExplainConfig, explain_cells
    from .common import phase_bars

    config = ExplainConfig(termination=args.termination, termination_draws=args.termination_draws)
    with phase_bars(not args.json) as progress:
        return explain_cells(cells, config, progress=None if progress is None else (
            lambda done, total: progress("explain", done, total)))


def _plot(args) -> None:
    from ..output import output_dir
    from ..plots import write_plots

    _check_db(args.db)
    output_dir(args.out, "out")  # before the explanations' minutes, not after
    with Store(args.db, readonly=True) as store:
        cells, elbow = _cells_of(store, args.run, elbows_too=True)
        explained = _explanations(store, cells, args)
    written = write_plots(cells, args.out, args.format, args.criterion, elbow, explanations=explained)
    paths = [str(p) for p in written]
    if args.json:
        return emit_json({"figures": paths, "cells": len(cells), "skipped": written.skipped})
    print("\n".join(paths + [f"not drawn: {kind} ({why})" for kind, why in written.skipped.items()]))


def _report(args) -> None:
    from ..output import file_target, output_dir
    from ..plots import write_plots
    from ..report import write_report
    from ..results import run_rows

    _check_db(args.db)
    file_target(args.output, "output")  # checked before the explanations, not after
    if not args.no_figures:
        output_dir(Path(args.output).parent / "figures", "output")
    with Store(args.db, readonly=True) as store:
        cells, elbow = _cells_of(store, args.run, elbows_too=True)
        # the runs whose rows the report shows: the cells' and the elbow results'
        runs = run_rows(store, {run for c in cells for run in c.run_ids}
                        | {row["run_id"] for row in elbow[1]})
        explained = _explanations(store, cells, args)
    out = Path(args.output)
    figures = [] if args.no_figures else write_plots(cells, out.parent / "figures", "png",
                                                     args.criterion, elbow, field="output",
                                                     explanations=explained)
    paths = [str(p) for p in write_report(cells, runs, out, args.criterion, figures,
                                          explanations=explained, elbow=elbow)]
    if args.json:
        return emit_json({"report": paths, "figures": [str(f) for f in figures]})
    print("\n".join(paths))


def register(sub) -> None:
    def add_output_options(p):
        p.add_argument("--db", type=Path, default=Path(DEFAULT_DB), help=f"results file (default {DEFAULT_DB})")
        p.add_argument("--run", nargs="+", help="run ids or names (default: every run in the db)")
        p.add_argument("--criterion", choices=CRITERIA, default="theorem")
        p.add_argument("--no-ladder", dest="no_ladder", action="store_true",
                       help="skip 'why the bound is loose' (mcirl explain on every cell's MDPs: "
                            "seconds per instance, ~15 s at k = 1000, gamma = 0.99)")
        add_termination_options(p)
        p.add_argument("--json", action="store_true")

    p = sub.add_parser("plot", help="empirical-vs-theory figures from a results database")
    add_output_options(p)
    p.add_argument("--out", type=Path, default=Path("figures"), help="folder (default ./figures)")
    p.add_argument("--format", choices=("png", "pdf", "svg"), default="png")
    p.set_defaults(handler=_plot)

    p = sub.add_parser("report", help="report.md and report.html from a results database")
    add_output_options(p)
    p.add_argument("-o", "--output", default="report.md", help="report.md (report.html beside it)")
    p.add_argument("--no-figures", dest="no_figures", action="store_true")
    p.set_defaults(handler=_report)
