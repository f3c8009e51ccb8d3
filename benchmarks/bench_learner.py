"""Learner cost: time per projection iteration as R and S grow, and the sampler/learner split
of a whole estimate (Garnet S = 1024, A = 4, k = 1000 one-hot, gamma = 0.99, eps = 0.1,
R = 1000, m = 1e3, 1e5, 1e7 and the bound) on the GPU backend. The per-iteration timings also
run on the CPU (--backend cpu) for comparison.

    python benchmarks/bench_learner.py [--backend gpu|cpu] [--json] [--skip-estimate]
                                       [--skip-per-iteration] [--reps R]
    python benchmarks/bench_learner.py --certificate [--reps R] [--cells 0 1 2 3] [--json]
    python benchmarks/bench_learner.py --lean [--features onehot|dense] [--reps R] [--cells ...]

--certificate compares the learner with the certificate off and on (issue 28), in one run, on
the four one-hot seed-table cells (Garnet S = 1024, A = 4, b = 3; k in {10, 1000} x gamma in
{0.9, 0.99}; eps = 0.1, delta = 0.05) at the m values of the README's tables, the two runs of a
cell alternating in order from cell to cell; beside them the paper's line step (certificate
off), whose failure counts and terminated-but-far rows show what the segment step changes.
Every run of a cell draws the same MDP and the same expert trajectories.

--lean BASELINE_TREE compares the learner's seconds per row-iteration in a source tree of the
code it replaced (every policy-iteration evaluation certified to 1e-12, NumPy's improvement
step) with this tree's (issue 48: intermediate sweeps to a certified relative 1e-6, values
warm-started across learner iterations, fused Numba improvement and row-gather kernels), each
in a fresh process, A/B alternating from cell to cell:

    git worktree add /tmp/before e1b67e2
    python benchmarks/bench_learner.py --lean /tmp/before --reps 5 [--features dense] [--S 256]

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
from pathlib import Path

import numpy as np
from _common import partial

from mcirl.backend import resolve_backend, single_threaded_blas
from mcirl.errors import InputError
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.learn import learn
from mcirl.mdp import MDP, FamilySpec, make_mdp


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


#: The four one-hot seed-table cells and the m values of the README's tables of them.
SEED_CELLS = [(10, 0.9, (10, 100, 316, 562, 649, 1000)),
              (10, 0.99, (10, 100, 1000, 3162, 5623, 10**4)),
              (1000, 0.9, (10, 100, 316, 562, 649, 1000)),
              (1000, 0.99, (10, 1000, 3162, 5623, 13335, 10**5))]
#: "certificate on" here is the failure certificate alone, the comparison of issue 28 (the
#: success certificate changes which rows run at all: --lean measures the learner without it).
LEARNERS = {"certificate off": ("segment", "off"), "certificate on": ("segment", "failure"),
            "line step": ("line", "off")}


#: One learner measurement in a fresh process, on the source tree PYTHONPATH names: seconds per
#: learner row-iteration of an estimate (public API only, so an older tree runs it too).
LEAN_PROGRAM = """
import json, sys
from mcirl.estimate import EstimateConfig, run_estimate
from mcirl.mdp import FamilySpec, make_mdp
k, gamma, features, S, reps, ms, certificate = json.loads(sys.argv[1])
mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=k, gamma=gamma, features=features, seed=1))
run_estimate(mdp, EstimateConfig(m=(10, 1000), reps=2, seed=2, certificate=certificate))  # compile
est = run_estimate(mdp, EstimateConfig(m=tuple(ms), eps=0.1, delta=0.05, reps=reps, seed=1,
                                       sampler="auto", certificate=certificate))
print(json.dumps({"seconds_learn": est.seconds["learn"],
                  "row_iterations": sum(r.mean_iterations for r in est.rows) * reps,
                  "failures": [r.failures_by_criterion for r in est.rows]}))
"""


def _lean_run(tree, cell, features, S, reps, certificate):
    import os
    import subprocess

    k, gamma, ms = cell
    env = {**os.environ, "PYTHONPATH": str(Path(tree) / "src")}
    out = subprocess.run([sys.executable, "-c", LEAN_PROGRAM,
                          json.dumps([k, gamma, features, S, reps, list(ms), certificate])],
                         env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def lean_rows(reps: int, which, baseline: str, S=1024, cells=SEED_CELLS, features="onehot") -> list[dict]:
    """Learner seconds per row-iteration of the code path replaced (the source tree
    ``baseline``, e.g. a worktree of the commit before issue 48: every policy-iteration sweep
    certified, NumPy's improvement step) against this tree's, A/B in one run, the order
    alternating from cell to cell, each in a fresh process on the same MDP and expert
    trajectories, with the failure certificate only (the baseline's "on"), so both run the
    same rows. Failure counts should agree (the final evaluations are certified alike)."""
    here = Path(__file__).resolve().parents[1]
    variants = {"before": (baseline, "on"), "now": (str(here), "failure")}
    out = []
    for index in which:
        names = ["before", "now"] if index % 2 == 0 else ["now", "before"]
        for name in names:
            tree, certificate = variants[name]
            run = _lean_run(tree, cells[index], features, S, reps, certificate)
            k, gamma, ms = cells[index]
            out.append({"k": k, "gamma": gamma, "features": features, "S": S, "variant": name,
                        "reps": reps, **run, "m": list(ms),
                        "seconds_per_row_iteration": run["seconds_learn"] / max(run["row_iterations"], 1)})
            partial(out[-1])
    return out


def print_lean(rows) -> None:
    by_cell = {}
    for r in rows:
        by_cell.setdefault((r["features"], r["k"], r["gamma"]), {})[r["variant"]] = r
    for (features, k, gamma), runs in by_cell.items():
        old, new = runs["before"], runs["now"]
        same = old["failures"] == new["failures"]
        before, now = old["seconds_per_row_iteration"], new["seconds_per_row_iteration"]
        print(f"{features} k={k} gamma={gamma}: {1e3 * before:.2f} ms per row-iteration before, "
              f"{1e3 * now:.2f} ms now: {before / now:.2f}x "
              f"({old['row_iterations']:.0f} and {new['row_iterations']:.0f} row-iterations); "
              f"failure counts {'identical' if same else 'DIFFER'}")


def certificate_rows(reps: int, which, S=1024, cells=SEED_CELLS) -> list[dict]:
    """Per cell and learner: learner seconds, failure counts per m, outcomes."""
    out = []
    for index in which:
        k, gamma, ms = cells[index]
        mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=k, gamma=gamma, seed=1))
        names = list(LEARNERS) if index % 2 == 0 else ["certificate on", "certificate off",
                                                         "line step"]
        for name in names:  # A/B: the order of off and on alternates from cell to cell
            step, certificate = LEARNERS[name]
            config = EstimateConfig(m=ms, eps=0.1, delta=0.05, reps=reps, seed=1, sampler="auto",
                                    projection_step=step, certificate=certificate)
            est = run_estimate(mdp, config)
            out.append({"k": k, "gamma": gamma, "learner": name, "reps": reps,
                        "seconds_learn": est.seconds["learn"], "seconds_sample": est.seconds["sample"],
                        "failures": [r.failures_by_criterion for r in est.rows],
                        "outcomes": [r.outcomes for r in est.rows],
                        "terminated_far": [r.terminated_far for r in est.rows],
                        "iterations": sum(r.mean_iterations for r in est.rows) * reps, "m": list(ms)})
            partial(out[-1])
    return out


def cap_rows(reps: int, which, caps=(1000, 10_000), S=1024, cells=SEED_CELLS) -> list[dict]:
    """The certified learner at each cap on the seed-table cells: learner seconds, rows left
    undecided, failure counts (what raising the default cap would cost and change)."""
    out = []
    for index in which:
        k, gamma, ms = cells[index]
        mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=k, gamma=gamma, seed=1))
        for cap in caps:
            config = EstimateConfig(m=ms, eps=0.1, delta=0.05, reps=reps, seed=1, sampler="auto",
                                    max_iter=cap)
            est = run_estimate(mdp, config)
            out.append({"k": k, "gamma": gamma, "cap": cap, "reps": reps,
                        "seconds_learn": est.seconds["learn"],
                        "undecided": sum(r.outcomes["undecided"] for r in est.rows),
                        "failures": [r.failures for r in est.rows], "m": list(ms)})
            partial(out[-1])
    return out


def sparse_phi_row(S=1024, k=1000, R=20, iterations=20) -> dict:
    """Seconds per projection iteration with one-hot phi's products as sparse matrices (what
    the MDP does) against the dense products they replace, A/B alternating, best of two."""
    from functools import partial as bind

    mdp = make_mdp(FamilySpec(S=S, A=4, b=3, k=k, gamma=0.99, seed=1))
    target = np.full((R, k), 1.0 / (1.0 - mdp.gamma))  # unreachable: every row to the cap
    learn(mdp, target[:2], 0.1, max_iter=2, certificate="off")  # warm-up
    dense = MDP(nxt=mdp.nxt, prob=mdp.prob, phi=mdp.phi, w=mdp.w, d0=mdp.d0, gamma=mdp.gamma)
    object.__setattr__(dense, "_sparse_phi", None)  # the cached property, forced to dense
    times = {"sparse": [], "dense": []}
    for _ in range(2):
        for name, model in (("sparse", mdp), ("dense", dense)):
            run = bind(learn, model, target, 0.1, max_iter=iterations, certificate="off")
            with single_threaded_blas():
                t0 = time.perf_counter()
                run()
            times[name].append((time.perf_counter() - t0) / iterations)
    return {"S": S, "k": k, "R": R, "seconds_sparse": min(times["sparse"]),
            "seconds_dense": min(times["dense"]),
            "ratio": min(times["dense"]) / min(times["sparse"])}


def print_certificate(rows) -> None:
    by_cell = {}
    for r in rows:
        by_cell.setdefault((r["k"], r["gamma"]), {})[r["learner"]] = r
    for (k, gamma), runs in by_cell.items():
        off, on, line = runs["certificate off"], runs["certificate on"], runs["line step"]
        same = off["failures"] == on["failures"]
        print(f"k={k} gamma={gamma}: learner {off['seconds_learn']:.1f} s off, "
              f"{on['seconds_learn']:.1f} s on: {off['seconds_learn'] / on['seconds_learn']:.1f}x; "
              f"iterations {off['iterations']:.0f} -> {on['iterations']:.0f}; "
              f"failure counts {'identical' if same else 'DIFFER'}")
        for i, m in enumerate(on["m"]):
            print(f"  m={m}: theorem failures {on['failures'][i]['theorem']}/{on['reps']} "
                  f"(line step {line['failures'][i]['theorem']}, of its terminated rows "
                  f"{line['terminated_far'][i]} far from mu_hat); outcomes {on['outcomes'][i]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="gpu", choices=("gpu", "cpu"))
    ap.add_argument("--skip-estimate", action="store_true")
    ap.add_argument("--skip-per-iteration", action="store_true")
    ap.add_argument("--reps", type=int, default=1000, help="replicates of the estimate")
    ap.add_argument("--certificate", action="store_true",
                    help="certificate off vs on on the four one-hot seed-table cells (CPU)")
    ap.add_argument("--sparse-phi", dest="sparse_phi", action="store_true",
                    help="one-hot phi's products, sparse against dense (CPU, S = 1024, k = 1000)")
    ap.add_argument("--caps", type=int, nargs="+",
                    help="the certified learner at these caps on the seed-table cells (CPU)")
    ap.add_argument("--lean", metavar="BASELINE_TREE",
                    help="learner seconds per row-iteration, a source tree of the code it replaced "
                         "(e.g. a git worktree of e1b67e2) against this one, A/B (CPU)")
    ap.add_argument("--S", type=int, default=1024, help="with --lean: states")
    ap.add_argument("--features", default="onehot", help="with --lean: onehot or dense")
    ap.add_argument("--cells", type=int, nargs="+", default=[0, 1, 2, 3],
                    help="with --certificate, --caps or --lean: which of the four cells")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.sparse_phi:
        row = sparse_phi_row()
        if args.json:
            return print(json.dumps(row, indent=2))
        return print(f"S={row['S']} k={row['k']} R={row['R']}: {1e3 * row['seconds_sparse']:.1f} ms "
                     f"per iteration with sparse phi products, {1e3 * row['seconds_dense']:.1f} ms "
                     f"dense: {row['ratio']:.2f}x")
    if args.caps:
        rows = cap_rows(args.reps if args.reps != 1000 else 5, args.cells, tuple(args.caps))
        if args.json:
            return print(json.dumps(rows, indent=2))
        for r in rows:
            print(f"k={r['k']} gamma={r['gamma']} cap {r['cap']}: learner {r['seconds_learn']:.1f} s, "
                  f"{r['undecided']} rows undecided, theorem failures {r['failures']}")
        return None
    if args.lean:
        rows = lean_rows(args.reps if args.reps != 1000 else 5, args.cells, args.lean, S=args.S,
                         features=args.features)
        return print(json.dumps(rows, indent=2)) if args.json else print_lean(rows)
    if args.certificate:
        rows = certificate_rows(args.reps if args.reps != 1000 else 5, args.cells)
        return print(json.dumps(rows, indent=2)) if args.json else print_certificate(rows)
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
