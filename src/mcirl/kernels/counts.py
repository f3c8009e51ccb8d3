"""The counts sampler: advance the state counts of m expert chains at once (docs/method.md).

mu_hat_E depends on the m trajectories only through the counts n_t(s) of chains in state s at
step t, and (n_t) is itself a Markov chain:

    n_0 ~ Multinomial(m, d0),   n_{t+1} = sum_s Multinomial(n_t(s), P_piE[s, .]),

so the discounted occupancy sum_t gamma^t n_t has exactly the law of the walker's. Each
multinomial is drawn as sequential binomials over the row's slots with the conditional
probabilities p_j / sum_{j' >= j} p_j'. Cost is proportional to H * S * B whatever m is.
A block of trajectories [lo, hi) of replicate r is one chain with the stream
(seed, COUNTS, r, lo, hi); n_0 uses its sub-stream 0 and the split of state s at step t its
sub-stream 1 + t S + s, so a GPU thread per state draws exactly what this loop draws: CPU and
GPU count chains are identical, integer for integer.

Chains sent to state S (one past the last; see :meth:`mcirl.sample.ExpertChain.killed`) have
ended their trajectories: the scatter drops them, and a count chain stops once none is left.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import njit
from .binomial import binomial
from .rng import COUNTS, stream_key, substream


def make_split(scatter):
    """The step both count samplers share, for a given scatter.

    ``split(c, cond, nxt, s, key, new)`` splits the c chains in state s over its successors,
    Multinomial(c, P_piE[s, .]) as sequential binomials on the stream ``key``, and adds x chains
    to successor i with ``scatter(new, i, x)``: a plain add on the CPU, an integer atomic on the
    GPU, where the threads of other states add to the same counts (and drop chains sent to
    state S = len(new), which have ended). n_0 is the same split, of the
    m chains over d0's one row (state 0 of ``init_nxt, init_cond``). It is returned as a Python
    function for the CPU to compile with ``njit`` and the GPU with ``cuda.jit(device=True)``
    (under the CUDA simulator it then runs as Python on the simulator's arrays, which a
    CPU-compiled function could not take).
    """
    def split(c, cond, nxt, s, key, new):
        counter = 0
        left = c
        for j in range(cond.shape[1]):
            if left == 0:
                break
            x, counter = binomial(left, cond[s, j], key, counter)
            scatter(new, nxt[s, j], x)
            left -= x
    return split


@njit
def _add(new, i, x):
    if i < new.shape[0]:
        new[i] += x


_split = nb.njit(make_split(_add))


@njit
def counts_chain(nxt, cond, init_nxt, init_cond, decay, horizon, key, m, occ):
    """Add the occupancy sum_{t<H} decay^t n_t of m chains into occ: (S,) float64.

    nxt: (S, B) int64 successors; cond: (S, B) float64 conditional slot probabilities;
    init_nxt, init_cond: (1, S) the same for d0 (one row, slots = states). Stops early at the
    first step with no chain left.
    """
    S = cond.shape[0]
    cur = np.zeros(S, np.int64)
    new = np.zeros(S, np.int64)
    _split(m, init_cond, init_nxt, 0, substream(key, 0), cur)
    g = 1.0
    for t in range(horizon):
        new[:] = 0
        alive = False
        for s in range(S):
            c = cur[s]
            if c == 0:
                continue
            alive = True
            occ[s] += g * c
            if t + 1 == horizon:
                continue
            _split(c, cond, nxt, s, substream(key, 1 + t * S + s), new)
        if not alive:
            break
        cur, new = new, cur
        g *= decay


@njit(parallel=True)
def counts_units(nxt, cond, init_nxt, init_cond, decay, horizon, seed, unit_rep, unit_lo, unit_hi,
                 out):
    """Unit u is the block [unit_lo[u], unit_hi[u]) of replicate unit_rep[u]; out: (U, S)."""
    for u in nb.prange(unit_rep.shape[0]):
        key = stream_key(seed, COUNTS, unit_rep[u], unit_lo[u], unit_hi[u])
        counts_chain(nxt, cond, init_nxt, init_cond, decay, horizon, key,
                     unit_hi[u] - unit_lo[u], out[u])
