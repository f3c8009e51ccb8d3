"""Counter-based random numbers: splitmix64 of a hashed stream key plus a step counter.

A stream is identified by (seed, kind, a, b, c), e.g. (seed, TRAJECTORIES, replicate, trajectory,
0);
its n-th 64-bit draw is ``mix64(key + n * GOLDEN)`` (Steele, Lea & Flood 2014, "Fast splittable
pseudorandom number generators", the SplitMix64 output function). A draw depends only on its
coordinates, never on which thread or in what order it was computed, so CPU results do not
change with the thread count and CPU and GPU kernels can consume identical streams.

Streams start at hashed, effectively random points of the 2^64 SplitMix sequence; two streams of
length L overlap with probability about 2L / 2^64 (1e-16 for L = 2000), negligible for the
number of streams any run uses.
"""

from __future__ import annotations

import numpy as np

from ..jit import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)

#: Stream kinds: trajectories of the walker, count chains of the counts sampler, test streams.
TRAJECTORIES = 1
COUNTS = 2
TESTING = 3


@njit
def mix64(z):
    """SplitMix64 finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit
def stream_key(seed, kind, a, b, c):
    """uint64 key of stream (seed, kind, a, b, c); all arguments non-negative integers.

    Trajectories use (replicate, trajectory, 0); count chains (replicate, first, end) of the
    block of trajectories they stand for.
    """
    h = mix64(np.uint64(seed) ^ (np.uint64(kind) * _M1))
    h = mix64(h + np.uint64(a) * GOLDEN)
    h = mix64(h + np.uint64(b) * GOLDEN)
    return mix64(h + np.uint64(c) * GOLDEN)


@njit
def draw(key, counter):
    """The counter-th uint64 draw of the stream with this key."""
    return mix64(key + np.uint64(counter) * GOLDEN)


@njit
def substream(key, index):
    """Key of sub-stream ``index`` of a stream: lets parallel workers (one per state, say)
    draw independently from one keyed stream without sharing a counter."""
    return mix64(draw(key, index) ^ _M2)


@njit
def uniform_open(z):
    """float64 in (0, 1) from the top 53 bits of a draw (never exactly 0 or 1)."""
    return (np.float64(z >> np.uint64(11)) + 0.5) * 1.1102230246251565e-16
