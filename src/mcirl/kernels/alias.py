"""Walker's alias method (Vose 1991): O(1) sampling from each row of a fixed-width table.

A packed table ``(S, B, 3) uint32`` holds, for slot j of row s, ``[threshold, keep, alias]``:
slot j yields state ``keep`` when the high 32 bits of a draw are below ``threshold``
(probability threshold / 2^32, the slot's acceptance rounded to 32 bits) and state ``alias``
otherwise. One 64-bit draw gives both the slot (low 32 bits, multiply-shift) and the threshold
test (high 32 bits), and one step reads one 12-byte record: as cheap as a walker can be.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import njit

_TWO32 = 4294967296.0
_LOW32 = np.uint64(0xFFFFFFFF)


@njit
def _vose_row(p, accept, alias):
    """Alias table of one probability row p: (B,) float64 -> fills accept (B,), alias (B,) int."""
    B = p.shape[0]
    total = p.sum()
    q = p * (B / total)
    small = np.empty(B, np.int64)
    large = np.empty(B, np.int64)
    ns = 0
    nl = 0
    for j in range(B):
        accept[j] = 1.0
        alias[j] = j
        if q[j] < 1.0:
            small[ns] = j
            ns += 1
        else:
            large[nl] = j
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        lo = small[ns]
        nl -= 1
        hi = large[nl]
        accept[lo] = q[lo]
        alias[lo] = hi
        q[hi] = (q[hi] + q[lo]) - 1.0
        if q[hi] < 1.0:
            small[ns] = hi
            ns += 1
        else:
            large[nl] = hi
            nl += 1
    # Left-overs have q == 1 up to rounding: they keep themselves (accept = 1).


@njit(parallel=True)
def alias_tables(nxt, prob):
    """Packed alias tables of every row.

    nxt: (S, B) int successor of each slot; prob: (S, B) float64, rows summing to 1.
    Returns (S, B, 3) uint32 records [threshold, keep, alias] (see the module docstring).
    """
    S, B = prob.shape
    table = np.empty((S, B, 3), np.uint32)
    for s in nb.prange(S):
        accept = np.empty(B)
        slot = np.empty(B, np.int64)
        _vose_row(prob[s], accept, slot)
        for j in range(B):
            threshold = np.floor(accept[j] * _TWO32 + 0.5)
            keep = nxt[s, j]
            other = nxt[s, slot[j]]
            if threshold >= _TWO32:  # accept = 1: both branches must give keep
                threshold = _TWO32 - 1.0
                other = keep
            table[s, j, 0] = np.uint32(threshold)
            table[s, j, 1] = np.uint32(keep)
            table[s, j, 2] = np.uint32(other)
    return table


@njit
def alias_slot(z, width):
    """The slot in [0, width) a 64-bit draw picks (its low 32 bits, multiply-shift)."""
    return np.int64(((z & _LOW32) * np.uint64(width)) >> np.uint64(32))


@njit
def alias_keeps(z, threshold):
    """Whether the draw keeps the slot's own state: its high 32 bits below the threshold."""
    return (z >> np.uint64(32)) < np.uint64(threshold)


@njit
def alias_step(table, s, z):
    """Next state from row s of a packed alias table, using the 64-bit draw z.

    CUDA kernels repeat these three lines with their own loads (a kernel may only pass scalars
    to shared device functions); the decisions are :func:`alias_slot` and :func:`alias_keeps`.
    """
    j = alias_slot(z, table.shape[1])
    if alias_keeps(z, table[s, j, 0]):
        return np.int64(table[s, j, 1])
    return np.int64(table[s, j, 2])
