"""Learner cost: time per projection iteration as R and S grow, and the sampler/learner split
of a whole estimate (Garnet S = 1024, A = 4, k = 1000 one-hot, gamma = 0.99, eps = 0.1,
R = 1000, m = 1e3, 1e5, 1e7 and the bound) on the GPU backend. The per-iteration timings also
run on the CPU (--backend cpu) for comparison.

    python benchmarks/bench_learner.py [--backend gpu|cpu] [--json] [--skip-estimate]
                                       [--skip-per-iteration] [--reps R]

--reps shrinks the estimate (R = 1000 by default) so that the CPU can run the same cell: its
iteration counts per m are what sets the learner's cost anywhere. On the CPU each per-iteration
timing runs as ``mcirl estimate`` runs the learner, with one BLAS thread, and beside it (the
reference, alternating, best of two) with the host BLAS's default threads.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

from _common import partial

from mcirl.backend import resolve_backend, single_threaded_blas
from mcirl.errors import InputError
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.learn import learn
from mcirl.mdp import FamilySpec, make_mdp


def per_iteration(backend, S, R, iterations=10, blas=contextlib.nullcontext):
    """Seconds per projection iteration for R rows that never terminate (a far target), with
    the host's BLAS threads as ``blas()`` sets them."""
    mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=min(S, 64), gamma=0.99, seed=1))
    if backend == "gpu":
        import cupy

        mdp = mdp.to(cupy)
    xp = mdp.xp
    target = xp.full((R, mdp.k), 1.0 / (1.0 - mdp.gamma))  # unreachable: runs to the cap
    learn(mdp, target[:2], 0.1, max_iter=2)  # warm-up (compilation, caches)
    with blas():
        t0 = time.perf_counter()
        learn(mdp, target, 0.1, max_iter=iterations)
        if backend == "gpu":
            xp.cuda.runtime.deviceSynchronize()
        return (time.perf_counter() - t0) / iterations


def per_iteration_row(backend, S, R):
    """The per-iteration timing as the estimate runs it; on the CPU beside the host BLAS's
    default threads (best of two alternating rounds each)."""
    if backend != "cpu":
        return {"S": S, "R": R, "seconds_per_iteration": per_iteration(backend, S, R)}
    one, default = [], []
    for _ in range(2):
        one.append(per_iteration(backend, S, R, blas=single_threaded_blas))
        default.append(per_iteration(backend, S, R))
    return {"S": S, "R": R, "seconds_per_iteration": min(one),
            "seconds_default_blas": min(default), "default_blas_ratio": min(default) / min(one)}


class Heartbeat:
    """Estimate progress as a partial line every ``every`` seconds: where a cut-off run got to."""

    def __init__(self, t0, every=10.0):
        self.t0, self.every, self.last = t0, every, t0

    def __call__(self, phase, done, total):
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            partial({"estimate_phase": phase, "done": done, "total": total,
                     "seconds": round(now - self.t0, 1)})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="gpu", choices=("gpu", "cpu"))
    ap.add_argument("--skip-estimate", action="store_true")
    ap.add_argument("--skip-per-iteration", action="store_true")
    ap.add_argument("--reps", type=int, default=1000, help="replicates of the estimate")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        backend = resolve_backend(args.backend)
    except InputError as exc:
        sys.exit(f"bench: error: {exc}")
    sizes = [(64, 100), (64, 1000), (256, 1000), (1024, 100), (1024, 1000)]
    if backend == "cpu":
        sizes = [(64, 100), (64, 1000), (256, 100)]
    if args.skip_per_iteration:
        sizes = []
    rows = []
    for S, R in sizes:
        rows.append(per_iteration_row(backend, S, R))
        partial(rows[-1])
    result = {"backend": backend, "per_iteration": rows}
    if not args.skip_estimate:
        mdp = make_mdp(FamilySpec(S=1024, A=4, b=3, k=1000, gamma=0.99, seed=1))
        try:
            config = EstimateConfig(m=(10**3, 10**5, 10**7, 21193269472), eps=0.1, reps=args.reps,
                                    seed=1, sampler="auto", backend=backend)
        except InputError as exc:
            sys.exit(f"bench: error: {exc}")
        t0 = time.perf_counter()
        est = run_estimate(mdp, config, progress=Heartbeat(t0))
        result["estimate"] = {"seconds": time.perf_counter() - t0, **est.seconds,
                              "sampler": est.sampler,
                              "reps": args.reps,
                              "rows": [{"m": r.m, "failures": r.failures, "reps": r.reps,
                                        "mean_iterations": r.mean_iterations,
                                        "nonterminated": r.nonterminated} for r in est.rows]}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for r in rows:
        reference = (f" (default BLAS threads: {1e3 * r['seconds_default_blas']:.1f} ms, "
                     f"{r['default_blas_ratio']:.2f}x)") if "seconds_default_blas" in r else ""
        print(f"{backend}: S={r['S']:5d} R={r['R']:5d}: {1e3 * r['seconds_per_iteration']:.1f} ms per iteration"
              + reference)
    if "estimate" in result:
        e = result["estimate"]
        print(f"estimate (S=1024, k=1000, gamma=0.99, R={e['reps']}, m=1e3..bound): "
              f"{e['seconds']:.1f} s; expert {e['expert']:.1f} s, sampler {e['sample']:.1f} s, "
              f"learner {e['learn']:.1f} s")
        for r in e["rows"]:
            print(f"  m={r['m']:.3g}: {r['failures']}/{r['reps']} failures, "
                  f"{r['mean_iterations']:.1f} learner iterations on average, "
                  f"{r['nonterminated']} at the cap")


if __name__ == "__main__":
    main()
