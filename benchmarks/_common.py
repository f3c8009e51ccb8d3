"""Helpers shared by the benchmarks: locating the reference probes, timing, output."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

DEFAULT_PROBE = Path(__file__).resolve().parents[2] / "shared" / "probe"


def probe_dir(path: str | None) -> Path:
    """The folder holding sol.py, cpu_sol.py, counts_sol.py (--probe, $MCIRL_PROBE, ../shared)."""
    folder = Path(path or os.environ.get("MCIRL_PROBE") or DEFAULT_PROBE)
    if not (folder / "cpu_sol.py").exists():
        sys.exit(f"bench: error: probe: no cpu_sol.py in {folder} (give --probe DIR)")
    sys.path.insert(0, str(folder))
    return folder


def best_of(fn, repeats: int = 3) -> float:
    """Smallest wall time of fn() over repeats (after the caller's warm-up)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def partial(row: dict) -> None:
    """One measurement as a JSON line on stderr, at once: a run cut off by a time limit (the GPU
    session's calls) still leaves every measurement it finished in its log."""
    print("partial:", json.dumps(row), file=sys.stderr, flush=True)


def emit(rows: list[dict], as_json: bool, columns: list[tuple[str, str]]) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    from mcirl.cli.common import print_table

    table = Table()
    for key, title in columns:
        table.add_column(title, justify="right")
    for row in rows:
        table.add_row(*[f"{row[key]:.3g}" if isinstance(row[key], float) else str(row[key])
                        for key, _ in columns])
    print_table(table)
