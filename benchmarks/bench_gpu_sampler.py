"""GPU expert-sampler throughput against ../shared/probe/sol.py's CUDA C walker, same run.

For S in {64, 256, 1024}, H in {100, 1000}, gamma = 0.99, on the reference's own chain (dense
Dirichlet(0.1) rows, start state 0): trajectory steps per second of the reference kernel and of
mcirl's walker kernel (kernel time, tables already on the device) on the same number of
trajectories, and the ratio (at H = 1000 also with 128 and 512 threads per block, for tuning).
Then the counts sampler's effective steps per second (m H R / s) at
m = 1e7 beside the walker's. Needs CuPy and a CUDA device.

    python benchmarks/bench_gpu_sampler.py [--json] [--probe DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from _common import partial, probe_dir

from mcirl.backend import gpu_missing
from mcirl.sample import ExpertChain, _units


def timed(fn, repeats=5):
    import cupy

    fn()
    cupy.cuda.runtime.deviceSynchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    cupy.cuda.runtime.deviceSynchronize()
    return (time.perf_counter() - t0) / repeats


#: Threads per block tried beside the walker's THREADS at H = 1000: which way to tune it, if
#: the ratio falls short, comes out of the same device call.
TUNING_THREADS = (128, 512)


def walker(S, H, gamma, n=None):
    """Steps per second of the reference and of mcirl's walker on n trajectories (default: as
    many as the reference launches on this device)."""
    import cupy
    import sol

    from mcirl.kernels.cuda import (THREADS, device_args, walk_args, walk_kernel,
                                    walk_shared_bytes)

    P = np.random.default_rng(0).dirichlet(np.full(S, 0.1), size=S)
    d0 = np.zeros(S)
    d0[0] = 1.0
    chain = ExpertChain(nxt=np.broadcast_to(np.arange(S), (S, S)).copy(), prob=P, d0=d0)
    if n is None:
        sms = cupy.cuda.Device(0).attributes["MultiProcessorCount"]
        n = sms * 16 * 256 * 8  # the reference's trajectories per launch
    rep, seg, start, count, stream_rep = _units(np.array([n]), 1, 0, 1024)
    # Tables and units on the device once: the timing is the kernel's alone.
    args = device_args(walk_args(chain.alias, chain.init_alias, gamma, H, 1, stream_rep, start,
                                 count, S))

    def steps_s(threads):
        launch = walk_kernel[rep.size, threads, 0, walk_shared_bytes(S)]
        return n * H / timed(lambda: launch(*args))

    ours = steps_s(THREADS)
    ref = sol.steps_per_second(S, H, gamma)
    row = {"S": S, "H": H, "reference_steps_s": ref, "mcirl_steps_s": ours, "ratio": ours / ref,
           "threads": THREADS}
    if H == 1000:
        row["ratio_by_threads"] = {t: steps_s(t) / ref for t in TUNING_THREADS}
    return row


def counts_vs_walker(gamma=0.99, H=1720, S=1024, reps=1000, m=10**7, walk_m=2000):
    """Counts sampler at m against the walker at walk_m trajectories (its steps/s do not
    depend on m), both on the GPU backend, R = reps replicates."""
    from mcirl.sample import sample_occupancy
    from bench_cpu_sampler import garnet_chain

    chain = garnet_chain(S, 3)
    seconds = timed(lambda: sample_occupancy(chain, gamma, H, [m], reps, 1, "counts", backend="gpu"), 2)
    walk_seconds = timed(lambda: sample_occupancy(chain, gamma, H, [walk_m], reps, 1,
                                                  "trajectories", backend="gpu"), 2)
    return {"S": S, "H": H, "reps": reps, "m": m,
            "counts_effective_steps_s": m * H * reps / seconds,
            "walker_steps_s": walk_m * H * reps / walk_seconds,
            "counts_over_walker": (m * H * reps / seconds) / (walk_m * H * reps / walk_seconds)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probe")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    missing = gpu_missing()
    if missing:
        sys.exit(f"bench: error: this benchmark needs a CUDA GPU ({missing})")
    probe_dir(args.probe)
    rows = []
    for S in (64, 256, 1024):
        for H in (100, 1000):
            rows.append(walker(S, H, 0.99))
            partial(rows[-1])
    counts = counts_vs_walker()
    partial(counts)
    if args.json:
        print(json.dumps({"walker": rows, "counts": counts}, indent=2))
        return
    for r in rows:
        tuning = "".join(f", {t} threads {x:.2f}" for t, x in r.get("ratio_by_threads", {}).items())
        print(f"S={r['S']:5d} H={r['H']:5d}: reference {r['reference_steps_s']:.3e} steps/s, "
              f"mcirl {r['mcirl_steps_s']:.3e} steps/s, ratio {r['ratio']:.2f} "
              f"({r['threads']} threads{tuning})")
    print(f"counts sampler at m=1e7 (S={counts['S']}, R={counts['reps']}): effective "
          f"{counts['counts_effective_steps_s']:.3e} steps/s vs walker "
          f"{counts['walker_steps_s']:.3e}: {counts['counts_over_walker']:.0f}x")


if __name__ == "__main__":
    main()
