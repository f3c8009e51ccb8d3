"""``mcirl results list | show | export | merge``: what a results database holds."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from ..errors import InputError
from ..learn import OUTCOMES
from ..output import counted
from ..results import mstar_summary, run_rows, stored_outcomes
from ..store import DEFAULT_DB, TABLES, Store, merge_files
from .common import emit_json, print_table
from .sweep import print_mstar


def run(args) -> None:
    if args.action == "merge":
        return _merge_results(args)
    if args.action == "export":
        return _export_all(args)
    if len(args.run) > 1:
        raise InputError("run", "show takes one run (export takes several)", " ".join(args.run))
    with Store(args.db, readonly=True) as store:
        if args.action == "list":
            runs = run_rows(store)
            if args.json:
                return emit_json(runs)
            out = Table(title=str(args.db))
            for col in ("run", "name", "status", "cells", "tasks", "seconds", "host", "version"):
                out.add_column(col)
            for r in runs:
                out.add_row(r["run_id"][:12], r["name"], r["status"], str(r["cells"]), str(r["tasks"]),
                            f"{r['seconds'] or 0:.1f}", str(r["host"]), str(r["package_version"]))
            return print_table(out)
        run_id = store.resolve_run(args.run[0] if args.run else None)
        rows = mstar_summary(store, run_id)
        if args.json:
            return emit_json({"run_id": run_id, "mstar": rows,
                              "estimates": store.table("estimates", run_id) if args.estimates else None})
        if rows:
            print_mstar(rows, f"run {run_id[:12]} in {args.db}")
        else:  # an unfinished run: m* is computed when its searches end
            run = next(r for r in store.runs() if r["run_id"] == run_id)
            print(f"run {run_id[:12]} ({run['name']}, {run['status']}) holds no m* yet: "
                  f"{counted(run['tasks'], 'task')} stored; `mcirl sweep CONFIG --db {args.db} --resume` "
                  "finishes it and reuses them")
        if args.estimates:
            _print_estimates(store.table("estimates", run_id))
        return None


def _export_all(args) -> None:
    """Every tidy table (mcirl.results.frames) of the chosen runs, one file each, with its
    header even when empty; config and environment as JSON text."""
    from ..output import atomic_path, output_dir
    from ..results import frames

    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("--format", "parquet needs pyarrow: pip install 'mcirl[dist]'") from None
    data = frames(args.db, args.run or None)
    out_dir = output_dir(args.output, "output")
    written = []
    for name, frame in data.items():
        frame = frame.copy()
        for column in ("config", "environment"):
            if column in frame:
                frame[column] = [None if v is None else json.dumps(v, sort_keys=True) for v in frame[column]]
        path = out_dir / f"{name}.{args.format}"
        with atomic_path(path, "output") as tmp:
            if args.format == "csv":
                frame.to_csv(tmp, index=False)
            else:
                frame.to_parquet(tmp, index=False)
        written.append(str(path))
    runs = data["runs"]["run_id"].tolist()
    if args.json:
        return emit_json({"runs": runs, "files": written})
    print("\n".join(written))


def _merge_results(args) -> None:
    merged, runs = merge_files(Path(args.db), args.sources)
    if args.json:
        return emit_json({"db": str(args.db), "sources": merged, "runs": runs})
    out = Table(title=f"merged into {args.db} ({counted(runs, 'run')} now): rows added (already there)")
    tables = [t for t in TABLES if any(m["added"][t] + m["present"][t] for m in merged)]
    out.add_column("from", overflow="fold")  # paths that differ only at the end stay apart
    for name in tables:
        out.add_column(name, justify="right")
    for m in merged:
        out.add_row(m["path"], *(f"{m['added'][t]:,} ({m['present'][t]:,})" for t in tables))
    print_table(out)


def _print_estimates(rows: list[dict]) -> None:
    out = Table(title="estimates")
    for col in ("cell", "instance", "m", "reps", "theorem", "l2", "regret", *OUTCOMES, "sampler"):
        out.add_column(col, justify="right")
    for r in rows:
        out.add_row(r["cell_id"][:8], str(r["instance"]), f"{r['m']:,}", str(r["reps"]),
                    str(r["failures_theorem"]), str(r["failures_l2"]), str(r["failures_regret"]),
                    *(str(n) for n in stored_outcomes(r).values()), r["sampler"])
    print_table(out)


def register(sub) -> None:
    from .common import Parser

    p = sub.add_parser("results", help="list, show, export and merge stored results")
    actions = p.add_subparsers(dest="action", required=True, parser_class=Parser)

    def action(name, text):
        q = actions.add_parser(name, help=text, description=text)
        q.add_argument("--db", type=Path, default=Path(DEFAULT_DB),
                       help="results database" + (": the one merged into, created if missing"
                                                   if name == "merge" else ""))
        q.add_argument("--json", action="store_true")
        q.set_defaults(handler=run, run=[], sources=None)
        return q

    action("list", "every run in the database: name, status, cells, tasks, time, host, version")
    q = action("show", "one run's m* table (and with --estimates every stored estimate row)")
    q.add_argument("run", nargs="*", help="run id prefix or name (default: the latest run)")
    q.add_argument("--estimates", action="store_true", help="every estimate row too")
    q = action("export", "the tidy tables (mcirl.results.frames) as CSV or Parquet files")
    q.add_argument("run", nargs="*", help="run id prefixes or names (default: every run)")
    q.add_argument("--format", choices=("csv", "parquet"), default="csv",
                   help="table file format (parquet needs the [dist] extra)")
    q.add_argument("-o", "--output", default=".", help="folder for the files")
    q = action("merge", "copy every run of other databases into --db (rows already there kept)")
    q.add_argument("--from", dest="sources", type=Path, nargs="+", metavar="DB", required=True,
                   help="the databases whose rows are copied in (opened read-only)")
