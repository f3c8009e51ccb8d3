"""CPU expert-sampler throughput against the reference walkers, measured in the same run.

For S in {64, 256, 1024} on the reference's own chain (dense Dirichlet(0.1) rows, start state 0),
H = 1000, gamma = 0.99:
  - reference: ../shared/probe/cpu_sol.py's interleaved Numba walker and vectorised NumPy
    sampler, one core each;
  - mcirl's trajectory sampler with 1 thread (ratio to the Numba reference) and with all threads
    (scaling).
Then the counts sampler's effective trajectory steps per second (m H / s) at m = 1e3, 1e5, 1e7
on a Garnet chain (S = 1024, b = 3, H = 1720) beside the trajectory sampler's, with
../shared/probe/counts_sol.py's timings (run as a subprocess, one core) as its reference.

    python benchmarks/bench_cpu_sampler.py [--json] [--probe DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

import numba
import numpy as np

from _common import best_of, emit, probe_dir

from mcirl.sample import ExpertChain, sample_occupancy

ROUNDS = 5


def walker_rates(S: int, H: int, gamma: float, n: int) -> dict:
    import cpu_sol

    P, _, _ = cpu_sol._chain(S, 0)
    d0 = np.zeros(S)
    d0[0] = 1.0
    chain = ExpertChain(nxt=np.broadcast_to(np.arange(S), (S, S)).copy(), prob=P, d0=d0)

    def ours():
        sample_occupancy(chain, gamma, H, [n], 1, seed=1, sampler="trajectories")

    sample_occupancy(chain, gamma, 2, [8], 1, seed=1, sampler="trajectories")  # compile, tables
    threads = numba.config.NUMBA_NUM_THREADS
    one = ref = 0.0
    for _ in range(ROUNDS):  # alternate, keep each side's best: fair on a noisy shared machine
        numba.set_num_threads(1)
        one = max(one, n * H / best_of(ours, 1))
        ref = max(ref, cpu_sol.numba_steps_per_second(S, H, gamma, n))
    numba.set_num_threads(threads)
    many = n * H / best_of(ours, ROUNDS)
    ref_numpy = cpu_sol.numpy_steps_per_second(S)
    return {"S": S, "H": H, "ref_numba": ref, "ref_numpy": ref_numpy, "mcirl_1_thread": one,
            "ratio_vs_numba": one / ref, f"mcirl_{threads}_threads": many,
            "scaling": many / one, "threads": threads}


def garnet_chain(S: int, b: int, seed: int = 0) -> ExpertChain:
    """The counts reference's chain: b distinct successors, sorted-cut probabilities."""
    rng = np.random.default_rng(seed)
    nxt = np.stack([rng.choice(S, b, replace=False) for _ in range(S)]).astype(np.int64)
    cuts = np.sort(rng.random((S, b - 1)), axis=1)
    prob = np.diff(np.concatenate([np.zeros((S, 1)), cuts, np.ones((S, 1))], axis=1), axis=1)
    return ExpertChain(nxt=nxt, prob=prob, d0=np.full(S, 1.0 / S))


def counts_reference(folder) -> dict:
    """ms per replicate of counts_sol.py at S=1024 b=3, keyed by m."""
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "counts_sol.py"], cwd=folder, env=env,
                         capture_output=True, text=True, check=True).stdout
    ref = {}
    for line in out.splitlines():
        hit = re.match(r"S=1024 b=3 m=([0-9e+.]+): ([0-9.]+) ms", line)
        if hit:
            ref[int(float(hit.group(1)))] = float(hit.group(2))
    return ref


def counts_rates(folder, H: int = 1720, gamma: float = 0.99) -> list[dict]:
    chain = garnet_chain(1024, 3)
    sample_occupancy(chain, gamma, 2, [8], 1, seed=1, sampler="counts")  # compile
    sample_occupancy(chain, gamma, 2, [8], 1, seed=1, sampler="trajectories")
    numba.set_num_threads(1)
    walk_n = 2000
    walker = walk_n * H / best_of(
        lambda: sample_occupancy(chain, gamma, H, [walk_n], 1, seed=1, sampler="trajectories"), 2)
    ref = counts_reference(folder)
    rows = []
    for m in (10**3, 10**5, 10**7):
        seconds = best_of(lambda: sample_occupancy(chain, gamma, H, [m], 1, seed=2, sampler="counts"))
        rows.append({"m": m, "counts_ms": seconds * 1e3, "counts_eff_steps_s": m * H / seconds,
                     "walker_steps_s": walker, "counts_over_walker": m * H / seconds / walker,
                     "ref_counts_ms": ref.get(m, float("nan")),
                     "ratio_vs_ref": ref.get(m, float("nan")) / (seconds * 1e3)})
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe", help="folder with the reference probes (default ../shared/probe)")
    ap.add_argument("--H", type=int, default=1000)
    ap.add_argument("--gamma", type=float, default=0.99)
    ap.add_argument("--n", type=int, default=20000, help="trajectories per timing")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    folder = probe_dir(args.probe)
    walk = [walker_rates(S, args.H, args.gamma, args.n) for S in (64, 256, 1024)]
    counts = counts_rates(folder)
    if args.json:
        import json

        print(json.dumps({"walker": walk, "counts": counts}, indent=2))
        return
    threads = walk[0]["threads"]
    emit(walk, False, [("S", "S"), ("H", "H"), ("ref_numba", "ref Numba (1 core)"),
                       ("ref_numpy", "ref NumPy"), ("mcirl_1_thread", "mcirl 1 thread"),
                       ("ratio_vs_numba", "ratio"), (f"mcirl_{threads}_threads", f"mcirl {threads} threads"),
                       ("scaling", "scaling")])
    emit(counts, False, [("m", "m"), ("counts_ms", "counts ms/rep"), ("ref_counts_ms", "ref ms/rep"),
                         ("ratio_vs_ref", "ratio"), ("counts_eff_steps_s", "counts eff. steps/s"),
                         ("walker_steps_s", "walker steps/s"), ("counts_over_walker", "counts/walker")])


if __name__ == "__main__":
    main()
