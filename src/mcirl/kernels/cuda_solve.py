"""CUDA kernels of the certified policy evaluation (numba-cuda): one block per row, every sweep
inside one launch.

Same iteration as the CPU kernels (:mod:`.linalg`), stopping by the same functions of
:mod:`.stopping` (compiled as device functions); :mod:`mcirl.solve.evaluate` explains them.
An array-module loop would cost ~15 launches and a host sync per sweep; here a row's block
sweeps until its own bound is met, reducing the bound's extremes in shared memory. Values agree
with the CPU kernel to rounding: block reductions and (for occupancies) float64 atomic scatters
add in another order, so a row may stop one sweep earlier or later, never outside its certified
bound.

Scratch lives in global memory ((2, R, S): the current and the next iterate), so any S fits.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from .cuda import THREADS  # a power of two (the reductions halve it): their shared arrays' size
from .stopping import occupancy_bound, occupancy_done, values_bound, values_done


@cuda.jit
def values_kernel(nxt, prob, gamma, rhs, x0, tol, sweeps, buf, out, err, done):
    """Row r = block: x = rhs + gamma P_r x from x0 until McQueen's bound <= tol ||x||_inf."""
    r = cuda.blockIdx.x
    t = cuda.threadIdx.x
    width = cuda.blockDim.x
    S, B = prob.shape[1], prob.shape[2]
    hi_s = cuda.shared.array(THREADS, numba.float64)
    lo_s = cuda.shared.array(THREADS, numba.float64)
    size_s = cuda.shared.array(THREADS, numba.float64)
    for s in range(t, S, width):
        buf[0, r, s] = x0[r, s]
    cuda.syncthreads()
    p = 0
    shift = bound = 0.0
    finished = False
    for _ in range(sweeps):
        h, low, z = -math.inf, math.inf, 0.0
        for s in range(t, S, width):
            acc = 0.0
            for j in range(B):
                acc += prob[r, s, j] * buf[p, r, nxt[r, s, j]]
            v = rhs[r, s] + gamma * acc
            buf[1 - p, r, s] = v
            d = v - buf[p, r, s]
            h, low, z = max(h, d), min(low, d), max(z, abs(v))
        hi_s[t], lo_s[t], size_s[t] = h, low, z
        cuda.syncthreads()
        half = width // 2
        while half > 0:
            if t < half:
                hi_s[t] = max(hi_s[t], hi_s[t + half])
                lo_s[t] = min(lo_s[t], lo_s[t + half])
                size_s[t] = max(size_s[t], size_s[t + half])
            cuda.syncthreads()
            half //= 2
        bound, shift = values_bound(hi_s[0], lo_s[0], gamma)
        finished = values_done(bound, size_s[0], tol)
        p = 1 - p
        cuda.syncthreads()  # all have read the totals before the next sweep overwrites them
        if finished:  # the same shared totals in every thread: the whole block leaves
            break
    for s in range(t, S, width):
        out[r, s] = buf[p, r, s] + shift
    if t == 0:
        err[r] = bound
        done[r] = finished


@cuda.jit
def occupancy_kernel(nxt, prob, gamma, rhs, mass, tol, sweeps, buf, out, err, done):
    """Row r = block: d = sum_j gamma^j (P_r^T)^j rhs_r with the remainder extrapolated onto the
    last term, until the l1 bound <= tol mass_r / (1 - gamma), mass_r = ||rhs_r||_1."""
    r = cuda.blockIdx.x
    t = cuda.threadIdx.x
    width = cuda.blockDim.x
    S, B = prob.shape[1], prob.shape[2]
    sum_s = cuda.shared.array(THREADS, numba.float64)
    for s in range(t, S, width):
        buf[0, r, s] = rhs[r, s]
        out[r, s] = rhs[r, s]
    cuda.syncthreads()
    p = 0
    scale, rest, bound = 1.0, 0.0, 0.0
    finished = False
    for _ in range(sweeps):
        for s in range(t, S, width):
            buf[1 - p, r, s] = 0.0
        cuda.syncthreads()
        for s in range(t, S, width):
            q = buf[p, r, s]
            if q != 0.0:
                for j in range(B):
                    cuda.atomic.add(buf, (1 - p, r, nxt[r, s, j]), prob[r, s, j] * q)
        cuda.syncthreads()
        scale *= gamma
        a = 0.0
        for s in range(t, S, width):
            v = buf[1 - p, r, s]
            out[r, s] += scale * v
            a += abs(v - buf[p, r, s])
        sum_s[t] = a
        cuda.syncthreads()
        half = width // 2
        while half > 0:
            if t < half:
                sum_s[t] += sum_s[t + half]
            cuda.syncthreads()
            half //= 2
        rest, bound = occupancy_bound(scale, gamma, mass[r], sum_s[0])
        finished = occupancy_done(bound, mass[r], gamma, tol)
        p = 1 - p
        cuda.syncthreads()
        if finished:
            break
    for s in range(t, S, width):
        out[r, s] += rest * buf[p, r, s]
    if t == 0:
        err[r] = bound
        done[r] = finished


def _outputs(R, S, empty):
    """Scratch (2, R, S), x (R, S), err (R,), done (R,), uninitialised (the kernels fill them)."""
    return empty((2, R, S)), empty((R, S)), empty(R), empty(R, np.bool_)


def values_args(nxt, prob, gamma, rhs, x0, tol, sweeps, empty=cuda.device_array):
    """values_kernel's arguments in order, outputs allocated by ``empty`` (np.empty to type
    them without a device)."""
    R, S = rhs.shape
    return (nxt, prob, np.float64(gamma), rhs, x0, np.float64(tol), np.int64(sweeps),
            *_outputs(R, S, empty))


def occupancy_args(nxt, prob, gamma, rhs, tol, sweeps, empty=cuda.device_array):
    """occupancy_kernel's arguments in order (as :func:`values_args`)."""
    R, S = rhs.shape
    mass = abs(rhs).sum(axis=1)  # on rhs's own module: NumPy, CuPy or numba's simulator
    return (nxt, prob, np.float64(gamma), rhs, mass, np.float64(tol), np.int64(sweeps),
            *_outputs(R, S, empty))


def _threads(S, threads):
    """The block size: a power of two, at most ``threads`` (<= THREADS), no wider than S needs."""
    return min(threads, max(32, 1 << (S - 1).bit_length()))


def iterate_values(nxt, prob, gamma, rhs, x0, tol, sweeps, threads=THREADS,
                   empty=cuda.device_array):
    """The GPU twin of :func:`mcirl.kernels.linalg.iterate_values`: arrays on the device (CuPy
    or numba), returns device arrays x (R, S), err (R,), done (R,) made by ``empty`` (pass
    ``cupy.empty`` to draw them from CuPy's memory pool)."""
    args = values_args(nxt, prob, gamma, rhs, x0, tol, sweeps, empty)
    if rhs.shape[0]:  # a grid of no blocks is an invalid launch
        values_kernel[rhs.shape[0], _threads(rhs.shape[1], threads)](*args)
    return args[-3:]


def iterate_occupancy(nxt, prob, gamma, rhs, tol, sweeps, threads=THREADS,
                      empty=cuda.device_array):
    """The GPU twin of :func:`mcirl.kernels.linalg.iterate_occupancy`."""
    args = occupancy_args(nxt, prob, gamma, rhs, tol, sweeps, empty)
    if rhs.shape[0]:
        occupancy_kernel[rhs.shape[0], _threads(rhs.shape[1], threads)](*args)
    return args[-3:]
