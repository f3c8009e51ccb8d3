"""Policy evaluation: the certified iteration (what ``method="auto"`` picks) against dense LU,
the reference, measured in the same run on the same policies; and on the GPU backend the
numba-cuda kernels against the CuPy array path.

    python benchmarks/bench_evaluate.py [--backend cpu|gpu] [--reps R] [--json]

Each row: one batch of R random deterministic policies (values, gamma = 0.99), best of 3 after a
warm-up, in ms per row, and the ratio auto / reference (< 1: auto is faster). Dense LU cannot
hold S = 16384, so that row's reference is the array path (the CPU's NumPy loop).

Then the calibration behind ``auto``'s sweep budget S^2 / (DENSE_SWEEPS_RATIO B'): on Garnets
(b = 3) at S = 64, 256, 1024, one dense LU per row against the marginal cost of one sweep of the
certified iteration (its kernel run at tolerance 0 for 10 and 60 sweeps), and the ratio
S^2 / (B' x LU-in-sweeps) they imply. The budget stays under one LU while the constant in use
is at least every measured ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from _common import best_of, emit, partial
from mcirl.backend import resolve_backend
from mcirl.errors import InputError
from mcirl.mdp import FamilySpec, make_mdp
from mcirl.solve import evaluate, policy_rows
from mcirl.solve.evaluate import DENSE_SWEEPS_RATIO, iteration_kernels

CASES = [
    ("garnet S=256 b=3", FamilySpec(S=256, A=4, b=3, k=4, gamma=0.99, seed=1)),
    ("garnet S=1024 b=3", FamilySpec(S=1024, A=4, b=3, k=4, gamma=0.99, seed=1)),
    ("gridworld 16x16", FamilySpec(family="gridworld", N=16, macro=4, gamma=0.99, seed=0)),
    ("gridworld 128x128", FamilySpec(family="gridworld", N=128, macro=16, gamma=0.99, seed=0)),
]


def calibrate(backend, xp, S, R, sweeps=(10, 60)):
    """Seconds of one dense LU and of one sweep, per batch of R rows, and the ratio they imply."""
    mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=4, gamma=0.99, seed=1)).to(xp)
    rng = np.random.default_rng(0)
    policies = xp.asarray(rng.integers(0, mdp.A, size=(R, S)))
    rhs = xp.asarray(rng.normal(size=(R, S)))
    nxt, prob = (xp.ascontiguousarray(a) for a in policy_rows(mdp, policies))
    kernels, extra = iteration_kernels(xp)  # the ones evaluate runs
    lu = timed(backend, lambda: evaluate(mdp, policies, rhs, method="dense"))
    # tolerance 0: no row stops early, so the difference is the cost of the extra sweeps
    few, many = (timed(backend, lambda n=n: kernels.iterate_values(
        nxt, prob, mdp.gamma, rhs, rhs, 0.0, n, **extra)) for n in sweeps)
    sweep = (many - few) / (sweeps[1] - sweeps[0])
    return {"S": S, "R": R, "lu_ms_per_row": 1e3 * lu / R, "sweep_us_per_row": 1e6 * sweep / R,
            "lu_in_sweeps": lu / sweep, "implied_ratio": S * S / (mdp.B * lu / sweep)}


def numpy_iteration(mdp, policies, rhs):
    """The plain NumPy certified iteration (tests/oracle.py), on host arrays."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests import oracle

    host = mdp.to(np)
    get = (lambda a: a.get()) if hasattr(rhs, "get") else np.asarray
    return oracle.certified_iteration(host, get(policies), get(rhs))


def timed(backend, fn, repeats=3):
    """Best wall time of fn() after a warm-up (compilation, caches, the dense P), the device
    synchronised."""
    def run():
        fn()
        if backend == "gpu":
            import cupy

            cupy.cuda.runtime.deviceSynchronize()
    run()
    return best_of(run, repeats)


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
        reference = "dense" if mdp.S <= 1024 else "numpy-iteration"
        run = {"auto": lambda: evaluate(mdp, policies, rhs, method="auto"),
               "dense": lambda: evaluate(mdp, policies, rhs, method="dense"),
               # the array path the kernels replaced (NumPy only), kept in the tests' oracle
               "numpy-iteration": lambda: numpy_iteration(mdp, policies, rhs)}
        timings = {method: timed(backend, run[method], repeats=3 if mdp.S <= 1024 else 1) / R
                   for method in ("auto", reference)}
        rows.append({"case": name, "S": mdp.S, "R": R, "reference": reference,
                     "auto_ms_per_row": 1e3 * timings["auto"],
                     "reference_ms_per_row": 1e3 * timings[reference],
                     "ratio": timings["auto"] / timings[reference]})
        partial(rows[-1])
    calibration = []
    for S in (64, 256, 1024):
        calibration.append(calibrate(backend, xp, S, min(args.reps, max(10, 2**24 // (S * S)))))
        partial(calibration[-1])
    if args.json:
        print(json.dumps({"cases": rows, "calibration": calibration,
                          "dense_sweeps_ratio": DENSE_SWEEPS_RATIO}, indent=2))
        return
    emit(rows, False, [("case", "case"), ("R", "R"), ("auto_ms_per_row", "auto ms/row"),
                       ("reference", "reference"), ("reference_ms_per_row", "ref ms/row"),
                       ("ratio", "auto / ref")])
    emit(calibration, False, [("S", "S"), ("R", "R"), ("lu_ms_per_row", "LU ms/row"),
                              ("sweep_us_per_row", "sweep us/row"), ("lu_in_sweeps", "LU = sweeps"),
                              ("implied_ratio", "implied ratio")])
    print(f"DENSE_SWEEPS_RATIO in use: {DENSE_SWEEPS_RATIO} (the sweep budget stays under one LU "
          "while it is at least every implied ratio)")


if __name__ == "__main__":
    main()
