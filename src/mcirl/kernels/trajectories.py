"""The trajectory sampler: walk expert trajectories and accumulate discounted state occupancy.

Trajectory j of replicate r uses the stream (seed, TRAJECTORIES, r, j, 0): draw 0 picks s_0 from
d0, draw t picks s_t from row s_{t-1} of the expert chain. The walker adds gamma^t at s_t for
t < H; mu_hat follows as occupancy @ Phi / m (DESIGN section 2). Cost is proportional to m * H.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from .alias import alias_step
from .rng import TRAJECTORIES, draw, stream_key

#: Trajectories advanced together by one CPU thread, so that their memory accesses overlap.
WALKERS = 8


@nb.njit(cache=True)
def walk_block(nxt, accept, alias_next, init_nxt, init_accept, init_alias,
               gamma, horizon, seed, rep, start, count, occ):
    """Walk trajectories start .. start+count-1 of replicate rep; add visits into occ.

    nxt, accept, alias_next: (S, B) alias table of the expert chain; init_*: (1, S) table of d0.
    occ: (S,) float64, incremented by sum_j sum_{t<H} gamma^t [s_t^j = s].
    """
    state = np.empty(WALKERS, np.int64)
    keys = np.empty(WALKERS, np.uint64)
    for base in range(start, start + count, WALKERS):
        n = min(WALKERS, start + count - base)
        for w in range(n):
            keys[w] = stream_key(seed, TRAJECTORIES, rep, base + w, 0)
            state[w] = alias_step(init_nxt, init_accept, init_alias, 0, draw(keys[w], 0))
        g = 1.0
        for t in range(1, horizon + 1):
            for w in range(n):
                s = state[w]
                occ[s] += g
                state[w] = alias_step(nxt, accept, alias_next, s, draw(keys[w], t))
            g *= gamma


@nb.njit(parallel=True, cache=True)
def walk_units(nxt, accept, alias_next, init_nxt, init_accept, init_alias,
               gamma, horizon, seed, unit_rep, unit_start, unit_count, out):
    """Run work unit u (a block of one replicate's trajectories) into out[u]: (U, S) float64."""
    for u in nb.prange(unit_rep.shape[0]):
        walk_block(nxt, accept, alias_next, init_nxt, init_accept, init_alias,
                   gamma, horizon, seed, unit_rep[u], unit_start[u], unit_count[u], out[u])
