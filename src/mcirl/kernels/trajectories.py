"""The trajectory sampler: walk expert trajectories and accumulate discounted state occupancy.

Trajectory j of replicate r uses the stream (seed, TRAJECTORIES, r, j, 0): draw 0 picks s_0 from
d0, draw t picks s_t from row s_{t-1} of the expert chain. The walker adds decay^t at s_t for
t < H; mu_hat follows as occupancy @ Phi / m (docs/method.md). Cost is proportional to m * H.

A chain may end a trajectory: a step to state S (one past the last; see
:meth:`mcirl.sample.ExpertChain.killed`) stops it there. Truncated lengths walk the expert chain
with decay = gamma, which never leaves; geometric lengths walk the killed chain with decay = 1.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ..jit import njit
from .alias import alias_step
from .rng import GOLDEN, TRAJECTORIES, mix64, stream_key

#: Trajectories advanced together by one CPU thread, so that their memory accesses overlap.
WALKERS = 8


@njit
def walk_block(table, init_table, decay, horizon, seed, rep, start, count, occ):
    """Walk trajectories start .. start+count-1 of replicate rep; add visits into occ.

    table: (S, B, 3) packed alias table of the expert chain; init_table: (1, S, 3) that of d0.
    occ: (S,) float64, incremented by sum_j sum_{t < min(H, L_j)} decay^t [s_t^j = s], where
    L_j is the step at which trajectory j reaches state S (infinite if it never does).
    """
    S = table.shape[0]
    state = np.empty(WALKERS, np.int64)
    x = np.empty(WALKERS, np.uint64)  # stream position: key + t * GOLDEN at step t
    for base in range(start, start + count, WALKERS):
        n = min(WALKERS, start + count - base)
        for w in range(n):
            x[w] = stream_key(seed, TRAJECTORIES, rep, base + w, 0)
            state[w] = alias_step(init_table, 0, mix64(x[w]))
        g = 1.0
        for _ in range(horizon):
            walking = 0
            for w in range(n):
                s = state[w]
                if s == S:
                    continue
                walking += 1
                occ[s] += g
                x[w] += GOLDEN
                state[w] = alias_step(table, s, mix64(x[w]))
            if walking == 0:
                break
            g *= decay


@njit(parallel=True)
def walk_units(table, init_table, decay, horizon, seed, unit_rep, unit_start, unit_count, out):
    """Run work unit u (a block of one replicate's trajectories) into out[u]: (U, S) float64."""
    for u in nb.prange(unit_rep.shape[0]):
        walk_block(table, init_table, decay, horizon, seed,
                   unit_rep[u], unit_start[u], unit_count[u], out[u])
