"""The store's costs against its size (issue 50): a merge's peak memory against the source's
size, and a dry run's planning time against the number of cells.

Merge: a source of N synthetic estimate rows (one run, copied from a tiny sweep's rows) is
merged into a new file, in a fresh process per measurement; the peak resident set comes from
the process: its peak (VmHWM, reset just before the merge through /proc/self/clear_refs, so
Linux only) less its resident set before the merge (a value under 1 MiB reads as 1 in the
ratio). The reference, measured in the same run, is the code path the batched
merge replaced: every source row read into a list of dicts first. Planning: `dry_run` without
calibration of a one-gamma grid of n k values, the time per cell printed with its ratio to the
smallest grid's.

    python benchmarks/bench_store.py [--rows 50000 200000] [--cells 100 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcirl.cli import main
from mcirl.sweep.config import config_from_dict
from mcirl.sweep.runner import dry_run

TINY = """
name = "bench-store"
[mdp]
S = 10
A = 2
[cells]
k = [2]
gamma = [0.8]
eps = 0.5
[instances]
count = 1
reps = 20
[search]
factor = 4
bisect = 0
max_iter = 50
"""


def source(folder: Path, rows: int) -> Path:
    """A database whose run holds ``rows`` estimate rows (the tiny sweep's, repeated under new
    task keys)."""
    config = folder / "tiny.toml"
    config.write_text(TINY)
    db = folder / f"source-{rows}.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    con = sqlite3.connect(db)
    template = con.execute("SELECT * FROM estimates LIMIT 1").fetchone()
    names = [r[1] for r in con.execute("PRAGMA table_info(estimates)")]
    key = names.index("key")
    fill = [tuple(f"synthetic-{i}" if j == key else v for j, v in enumerate(template))
            for i in range(rows)]
    con.executemany(f"INSERT INTO estimates VALUES ({', '.join('?' * len(names))})", fill)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


def child(mode: str, db: str, target: str) -> None:
    """One merge in this process; prints how far it raised the process's peak resident set
    (MiB): the merge's own memory, whatever loading mcirl cost before it."""
    from mcirl.store import TABLES, Store, merge_files

    Path("/proc/self/clear_refs").write_text("5")  # Linux: the peak (VmHWM) restarts from now
    before = _status("VmRSS")
    if mode == "batched":
        merge_files(Path(target), [db])
    else:  # the replaced path: every row of every table in memory first
        con = sqlite3.connect(db)
        con.row_factory = sqlite3.Row
        rows = {t: [dict(r) for r in con.execute(f"SELECT * FROM {t}")] for t in TABLES}
        with Store(Path(target)) as store, store.write():
            for table, items in rows.items():
                if items:
                    store.insert(table, tuple(items[0]), items)
    print((_status("VmHWM") - before) / 1024)


def _status(field: str) -> int:
    """A /proc/self/status memory field in KiB."""
    text = Path("/proc/self/status").read_text().splitlines()
    line = next(x for x in text if x.startswith(field))
    return int(line.split()[1])


def peak(mode: str, db: Path, folder: Path, existing: bool = False) -> float:
    """The merge's memory in a fresh process, into a new target or (existing) into a copy of
    the source itself: every row a twin, compared (:func:`mcirl.store.merge.check_twins`)."""
    target = folder / f"{mode}-{db.stem}.sqlite"
    target.unlink(missing_ok=True)
    if existing:
        shutil.copy(db, target)
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(db), str(target)],
                         capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def planning(n: int) -> float:
    config = config_from_dict({"cells": {"k": list(range(1, n + 1)), "gamma": [0.9]},
                               "mdp": {"S": 8, "S_per_k": 1}, "instances": {"count": 1, "reps": 10}})
    t0 = time.perf_counter()
    dry_run(config, calibrate=False)
    return time.perf_counter() - t0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
        sys.exit(0)
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, nargs="+", default=[50_000, 200_000])
    p.add_argument("--cells", type=int, nargs="+", default=[100, 1000, 10000])
    args = p.parse_args()
    results = {"merge": [], "planning": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rows in args.rows:
            db = source(folder, rows)
            size = db.stat().st_size / 2**20
            extra = {m: max(peak(m, db, folder) for _ in range(2)) for m in ("lists", "batched")}
            twins = peak("batched", db, folder, existing=True)
            results["merge"].append({"rows": rows, "source_mib": round(size, 1),
                                     "merge_mib_batched": round(extra["batched"], 1),
                                     "merge_mib_batched_into_its_twin": round(twins, 1),
                                     "merge_mib_lists": round(extra["lists"], 1),
                                     "ratio_lists_over_batched": round(extra["lists"] / max(extra["batched"], 1.0), 1)})
            print(json.dumps(results["merge"][-1]), flush=True)
    base = None
    for n in args.cells:
        seconds = planning(n)
        per_cell = seconds / n
        base = base or per_cell
        results["planning"].append({"cells": n, "seconds": round(seconds, 3),
                                    "ms_per_cell": round(1000 * per_cell, 3),
                                    "per_cell_vs_smallest": round(per_cell / base, 2)})
        print(json.dumps(results["planning"][-1]), flush=True)
