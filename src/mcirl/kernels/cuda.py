"""CUDA kernels of the expert samplers (numba-cuda), built on the same device functions as the
CPU kernels: the counter-based RNG (:mod:`.rng`), the alias decisions (:mod:`.alias`) and the
count chains' multinomial split (:func:`.counts.make_split`, over the binomial sampler of
:mod:`.binomial`).

- :func:`walk_kernel`: one block per work unit (a block of one replicate's trajectories, the
  CPU's units), one thread per trajectory (strided); visits are accumulated in float64 in a
  shared-memory histogram when S <= SHARED_STATES, else with float64 atomics in global memory.
  The histogram is dynamic shared memory of S doubles (:func:`walk_shared_bytes`), so a block
  reserves only what its chain needs and small chains leave room for more blocks per SM.
  Trajectory j of replicate r uses the same stream as on the CPU, so the GPU walks the very same
  trajectories; only the order of the floating-point additions differs (atomics), so occupancies
  agree with the CPU's to rounding (about 1e-15 relative), not bit for bit.
- :func:`counts_kernel`: one block per count chain, one thread per state (strided). Each
  (step, state) split draws from its own sub-stream, exactly as the CPU loop does, and integer
  counts are summed with integer atomics, so counts and occupancies equal the CPU's bit for bit.

Kernels pass only scalars to the CPU-compiled device functions (the CUDA simulator, which runs
these kernels in CI with NUMBA_ENABLE_CUDASIM=1, cannot hand arrays to them), and wrap their
uint64 results in np.uint64 (a no-op on the device, needed by the simulator). The split, which
reads the chain's rows, is compiled for the GPU from its Python source instead, so that the
simulator runs it as Python.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import cuda

from .alias import alias_keeps, alias_slot
from .counts import make_split
from .rng import COUNTS, TRAJECTORIES, draw, stream_key, substream

#: States that fit the walker's shared-memory histogram (float64: 32 KiB).
SHARED_STATES = 4096
THREADS = 256


def walk_shared_bytes(S: int) -> int:
    """Dynamic shared memory of a walk_kernel block: the histogram, or none above SHARED_STATES."""
    return 8 * S if S <= SHARED_STATES else 0


@cuda.jit(device=True)
def _atomic_add(new, i, x):
    if i < new.shape[0]:  # state S: the chains have ended (see .counts)
        cuda.atomic.add(new, i, x)


split = cuda.jit(device=True)(make_split(_atomic_add))


@cuda.jit
def walk_kernel(table, init, decay, horizon, seed, unit_rep, unit_start, unit_count, out):
    """Block u walks unit u's trajectories; out[u, s] (zeroed) gets their discounted visits.
    A trajectory ends at step H or on reaching state S, as on the CPU (.trajectories)."""
    u = cuda.blockIdx.x
    S = table.shape[0]
    width = table.shape[1]
    hist = cuda.shared.array(0, numba.float64)  # S doubles: walk_shared_bytes(S) at launch
    shared = S <= SHARED_STATES
    if shared:
        for i in range(cuda.threadIdx.x, S, cuda.blockDim.x):
            hist[i] = 0.0
        cuda.syncthreads()
    rep = unit_rep[u]
    for j in range(unit_start[u] + cuda.threadIdx.x, unit_start[u] + unit_count[u], cuda.blockDim.x):
        key = np.uint64(stream_key(seed, TRAJECTORIES, rep, j, 0))
        z = np.uint64(draw(key, 0))
        slot = alias_slot(z, init.shape[1])
        s = init[0, slot, 1] if alias_keeps(z, init[0, slot, 0]) else init[0, slot, 2]
        g = 1.0
        for t in range(1, horizon + 1):
            if s == S:
                break
            if shared:
                cuda.atomic.add(hist, s, g)
            else:
                cuda.atomic.add(out, (u, s), g)
            z = np.uint64(draw(key, t))
            slot = alias_slot(z, width)
            s = table[s, slot, 1] if alias_keeps(z, table[s, slot, 0]) else table[s, slot, 2]
            g *= decay
    if shared:
        cuda.syncthreads()
        for i in range(cuda.threadIdx.x, S, cuda.blockDim.x):
            out[u, i] = hist[i]


@cuda.jit
def counts_kernel(nxt, cond, init_nxt, init_cond, decay, horizon, seed, unit_rep, unit_lo,
                  unit_hi, cur, new, out):
    """Block u advances the count chain of unit u; cur, new: (U, S) int64 scratch (zeroed),
    out: (U, S) float64 (zeroed) receives sum_t decay^t n_t(s). Stops at the first step with
    no chain left, as on the CPU (.counts)."""
    u = cuda.blockIdx.x
    S = cond.shape[0]
    key = np.uint64(stream_key(seed, COUNTS, unit_rep[u], unit_lo[u], unit_hi[u]))
    if cuda.threadIdx.x == 0:  # n_0 ~ Multinomial(m, d0): one sequential pass over the states
        split(unit_hi[u] - unit_lo[u], init_cond, init_nxt, 0, np.uint64(substream(key, 0)),
              cur[u])
    cuda.syncthreads()
    g = 1.0
    for t in range(horizon):
        alive = 0
        for s in range(cuda.threadIdx.x, S, cuda.blockDim.x):
            c = cur[u, s]
            if c == 0:
                continue
            alive = 1
            out[u, s] += g * c
            if t + 1 == horizon:
                continue
            split(c, cond, nxt, s, np.uint64(substream(key, 1 + t * S + s)), new[u])
        if not cuda.syncthreads_or(alive):  # a barrier, and every thread's same answer
            break
        for s in range(cuda.threadIdx.x, S, cuda.blockDim.x):
            cur[u, s] = new[u, s]
            new[u, s] = 0
        cuda.syncthreads()
        g *= decay


def walk_args(table, init, decay, horizon, seed, unit_rep, unit_start, unit_count, S):
    """walk_kernel's host arguments in order, the zeroed (U, S) float64 output last."""
    return (table, init, np.float64(decay), np.int64(horizon), np.int64(seed), unit_rep,
            unit_start, unit_count, np.zeros((unit_rep.size, S)))


def counts_args(nxt, cond, init_nxt, init_cond, decay, horizon, seed, unit_rep, unit_lo, unit_hi):
    """counts_kernel's host arguments in order: int64 scratch, then the (U, S) float64 output."""
    U, S = unit_rep.size, cond.shape[0]
    return (nxt, cond, init_nxt, init_cond, np.float64(decay), np.int64(horizon), np.int64(seed), unit_rep,
            unit_lo, unit_hi, np.zeros((U, S), np.int64), np.zeros((U, S), np.int64),
            np.zeros((U, S)))


def device_args(args):
    """A kernel's host arguments with every array copied to the device (scalars as they are)."""
    return tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args)


def launch_walk(table, init, decay, horizon, seed, unit_rep, unit_start, unit_count, S,
                threads=THREADS):
    """Run the walker on units; returns a (U, S) float64 device array."""
    args = device_args(walk_args(table, init, decay, horizon, seed, unit_rep, unit_start,
                                unit_count, S))
    walk_kernel[unit_rep.size, threads, 0, walk_shared_bytes(S)](*args)
    return args[-1]


def launch_counts(nxt, cond, init_nxt, init_cond, decay, horizon, seed, unit_rep, unit_lo,
                  unit_hi, threads=THREADS):
    """Run the count chains of units; returns a (U, S) float64 device array."""
    args = device_args(counts_args(nxt, cond, init_nxt, init_cond, decay, horizon, seed, unit_rep,
                                  unit_lo, unit_hi))
    counts_kernel[unit_rep.size, min(threads, max(32, cond.shape[0]))](*args)
    return args[-1]
