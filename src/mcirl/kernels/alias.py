"""Walker's alias method (Vose 1991): O(1) sampling from each row of a fixed-width table.

A table row s has B slots; slot j keeps its own successor ``nxt[s, j]`` with probability
``accept[s, j]`` and otherwise yields ``alias_next[s, j]``. One uniform slot and one uniform
threshold (both cut from one 64-bit draw, :func:`~mcirl.kernels.rng.split32`) give a sample.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .rng import split32


@nb.njit(cache=True)
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


@nb.njit(parallel=True, cache=True)
def alias_tables(nxt, prob):
    """Alias tables of every row.

    nxt: (S, B) int64 successor of each slot; prob: (S, B) float64, rows summing to 1.
    Returns accept: (S, B) float64 in [0, 1] and alias_next: (S, B) int64 successor states.
    """
    S, B = prob.shape
    accept = np.empty((S, B), np.float64)
    alias_next = np.empty((S, B), np.int64)
    for s in nb.prange(S):
        slot = np.empty(B, np.int64)
        _vose_row(prob[s], accept[s], slot)
        for j in range(B):
            alias_next[s, j] = nxt[s, slot[j]]
    return accept, alias_next


@nb.njit(cache=True)
def alias_step(nxt, accept, alias_next, s, z):
    """Next state from row s of an alias table, using the 64-bit draw z."""
    j, u = split32(z, accept.shape[1])
    if u < accept[s, j]:
        return nxt[s, j]
    return alias_next[s, j]
