"""Policy evaluation: the certified iteration (what ``method="auto"`` picks) against dense LU,
the reference, measured in the same run on the same policies; and on the GPU backend the
numba-cuda kernels against the CuPy array path.

    python benchmarks/bench_evaluate.py [--backend cpu|gpu] [--reps R] [--json]

Each row: one batch of R random deterministic policies (values, gamma = 0.99), best of 3 after a
warm-up, in ms per row, and the ratio auto / reference (< 1: auto is faster). Dense LU cannot
hold S = 16384, so that row's reference is the array path (the CPU's NumPy loop).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _common import best_of, emit, partial
from mcirl.backend import resolve_backend
from mcirl.errors import InputError
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import evaluate

CASES = [
    ("garnet S=256 b=3", FamilySpec(S=256, A=4, b=3, k=4, gamma=0.99, seed=1)),
    ("garnet S=1024 b=3", FamilySpec(S=1024, A=4, b=3, k=4, gamma=0.99, seed=1)),
    ("gridworld 16x16", FamilySpec(family="gridworld", N=16, macro=4, gamma=0.99, seed=0)),
    ("gridworld 128x128", FamilySpec(family="gridworld", N=128, macro=16, gamma=0.99, seed=0)),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="cpu", choices=("cpu", "gpu"))
    ap.add_argument("--reps", type=int, default=100, help="policies per batch (R)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        backend = resolve_backend(args.backend)
        if args.reps < 1:
            raise InputError("reps", "must be an integer >= 1", args.reps)
    except InputError as exc:
        sys.exit(f"bench: error: {exc}")
    if backend == "gpu":
        import cupy as xp
    else:
        xp = np
    rows = []
    for name, spec in CASES:
        mdp = make_mdp(spec).to(xp)
        rng = np.random.default_rng(0)
        R = args.reps if mdp.S <= 1024 else max(1, args.reps // 5)
        policies = xp.asarray(rng.integers(0, mdp.A, size=(R, mdp.S)))
        rhs = xp.asarray(rng.normal(size=(R, mdp.S)))
        reference = "dense" if mdp.S <= 1024 else "iterative-array"
        timings = {}
        for method in ("auto", reference):
            def run(method=method):
                evaluate(mdp, policies, rhs, method=method)
                if backend == "gpu":
                    xp.cuda.runtime.deviceSynchronize()
            run()  # warm-up: compilation, caches, the dense P
            timings[method] = best_of(run, repeats=3 if mdp.S <= 1024 else 1) / R
        rows.append({"case": name, "S": mdp.S, "R": R, "reference": reference,
                     "auto_ms_per_row": 1e3 * timings["auto"],
                     "reference_ms_per_row": 1e3 * timings[reference],
                     "ratio": timings["auto"] / timings[reference]})
        partial(rows[-1])
    emit(rows, args.json, [("case", "case"), ("R", "R"), ("auto_ms_per_row", "auto ms/row"),
                           ("reference", "reference"), ("reference_ms_per_row", "ref ms/row"),
                           ("ratio", "auto / ref")])


if __name__ == "__main__":
    main()
