"""Start-up cost of every mcirl command: `import mcirl.cli` in a fresh interpreter, against the
reference of importing SciPy's stats, optimize and sparse first, as mcirl did at module level
before they were imported where used (A/B alternating, median of --rounds each).

    python benchmarks/bench_startup.py [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

LAZY = "import mcirl.cli"
EAGER = "import scipy.stats, scipy.optimize, scipy.sparse; import mcirl.cli"


def once(code: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    once(LAZY)  # warm the file cache and numba's on-disk cache
    lazy, eager = [], []
    for _ in range(args.rounds):
        lazy.append(once(LAZY))
        eager.append(once(EAGER))
    row = {"rounds": args.rounds, "seconds_lazy": statistics.median(lazy),
           "seconds_eager": statistics.median(eager)}
    row["ratio"] = row["seconds_eager"] / row["seconds_lazy"]
    if args.json:
        return print(json.dumps(row, indent=2))
    print(f"import mcirl.cli: {row['seconds_lazy']:.2f} s; with SciPy imported eagerly "
          f"{row['seconds_eager']:.2f} s: {row['ratio']:.2f}x (median of {args.rounds}, alternating)")


if __name__ == "__main__":
    main()
