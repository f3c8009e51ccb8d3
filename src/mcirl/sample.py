"""Expert-trajectory sampling: mu_hat_E at a grid of m from nested prefixes of one pool.

Host side of the samplers in :mod:`mcirl.kernels`: builds the expert chain's tables, splits the
work into fixed-size units (so results do not depend on the thread count), runs the kernels and
reduces units in a fixed order. Replicate r's pool is trajectories 0, 1, 2, ...; mu_hat at grid
value m uses the first m ("nested prefixes", docs/method.md).

Samplers (same law, different cost):
- ``trajectories``: walk every trajectory, cost ~ m_max * H per replicate;
- ``counts``: one multinomial count chain per grid segment, cost ~ C * H * S * B whatever m is;
- ``auto``: the cheaper by :func:`sampler_cost`.

Trajectory lengths (docs/method.md; :func:`trajectory_law`):
- ``truncated``: H steps, visits weighted gamma^t; the bias is below 1e-3 eps (bounds.horizon);
- ``geometric``: L steps with P(L > t) = gamma^t, visits weighted 1: unbiased, but a
  trajectory's sum is no longer bounded by 1 / (1 - gamma) (Hoeffding-type bounds assume it is).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import bounds
from .backend import array_module
from .errors import HORIZON_MAX, check_horizon, check_real
from .kernels.alias import alias_tables
from .kernels.counts import counts_units
from .kernels.trajectories import walk_units
from .solve.rows import policy_rows

SAMPLERS = ("counts", "trajectories", "auto")
LENGTHS = ("truncated", "geometric")
#: The step cap of geometric lengths: none that matters (P(L > 2^62) = gamma^(2^62)).
NO_HORIZON = 2**62
#: Largest gamma of geometric lengths: mean length 1e6 steps. The walker's alias tables round
#: the end probability 1 - gamma to 2^-32 (relative error below 1e-4 here), and a gamma too close
#: to 1 would round it to 0: trajectories that never end.
GEOMETRIC_GAMMA_MAX = 1 - 1e-6
#: Trajectories per work unit of the walker (fixed: it sets the summation order).
UNIT_TRAJECTORIES = 1024
#: Float64 entries of one batch of per-unit occupancy buffers.
BATCH_ENTRIES = 2**23
#: Relative cost of one binomial draw against one walker step, for ``auto``.
BINOMIAL_STEP_COST = 4.0


@dataclass(frozen=True, eq=False)
class ExpertChain:
    """The expert's Markov chain P_piE as fixed-width rows, and d0.

    nxt: (S, B) int64, prob: (S, B) float64 rows of P_piE; d0: (S,) float64. A successor S
    (one past the last state) ends the trajectory, which happens with probability ``ends`` at
    every step (0 for the expert's own chain; see :meth:`killed`).
    """

    nxt: np.ndarray
    prob: np.ndarray
    d0: np.ndarray
    ends: float = 0.0

    @classmethod
    def from_policy(cls, mdp, policy) -> "ExpertChain":
        """Chain of a deterministic policy (S,) int on mdp (a host MDP)."""
        nxt, prob = policy_rows(mdp, np.asarray(policy)[None])
        return cls(nxt=np.ascontiguousarray(nxt[0]), prob=np.ascontiguousarray(prob[0]),
                   d0=np.asarray(mdp.d0))

    def killed(self, gamma: float) -> "ExpertChain":
        """The chain that ends each trajectory with probability 1 - gamma at every step.

        Row s gains slot 0, leading to state S with probability 1 - gamma, and keeps its own
        slots with probabilities gamma p. Its trajectories have lengths L with P(L > t) =
        gamma^t, so that sum_{t<L} phi(s_t) is an unbiased estimate of mu_E:
        E sum_{t<L} phi(s_t) = sum_t P(L > t) E phi(s_t) = sum_t gamma^t E phi(s_t)
        (the geometric-length estimator of docs/method.md).
        """
        S = self.S
        return ExpertChain(nxt=np.concatenate([np.full((S, 1), S, np.int64), self.nxt], axis=1),
                           prob=np.concatenate([np.full((S, 1), 1.0 - gamma), gamma * self.prob],
                                               axis=1),
                           d0=self.d0, ends=1.0 - gamma)

    @property
    def S(self) -> int:
        return self.nxt.shape[0]

    @cached_property
    def alias(self):
        """(S, B, 3) uint32 packed alias table of the chain's rows."""
        return alias_tables(self.nxt, self.prob)

    @cached_property
    def init_nxt(self):
        """(1, S) int64: d0 as one more row of the chain, whose slots are the states."""
        return np.arange(self.S, dtype=np.int64)[None, :]

    @cached_property
    def init_alias(self):
        """(1, S, 3) uint32 packed alias table of d0."""
        return alias_tables(self.init_nxt, self.d0[None, :])

    @staticmethod
    def conditional(prob):
        """p_j / sum_{j' >= j} p_j' along the last axis (1 at each row's last non-zero slot)."""
        tail = np.cumsum(prob[..., ::-1], axis=-1)[..., ::-1]
        return np.where(tail > 0, prob / np.where(tail > 0, tail, 1.0), 0.0)

    @cached_property
    def counts_rows(self):
        """(nxt, cond, init_nxt, init_cond) for the counts sampler: the chain's successors and
        conditional slot probabilities, (S, B), and the same for d0's row, (1, S), so that
        drawing n_0 ~ Multinomial(m, d0) is the same split as every step."""
        return (self.nxt, self.conditional(self.prob), self.init_nxt,
                self.conditional(self.d0[None, :]))


def sorted_grid(m_grid) -> np.ndarray:
    """(C,) int64 strictly increasing grid of m >= 1 (sorted, duplicates dropped)."""
    return np.unique(np.asarray(m_grid, dtype=np.int64))


def gamma_range(lengths: str) -> tuple[float, bool]:
    """(largest gamma, whether it is excluded) for ``lengths``: [0, 1) for truncated ones,
    [0, GEOMETRIC_GAMMA_MAX] for geometric ones."""
    return (GEOMETRIC_GAMMA_MAX, False) if lengths == "geometric" else (1.0, True)


def check_law(k: int, gamma: float, eps: float, lengths: str,
              max_horizon: int = HORIZON_MAX) -> int | None:
    """The horizon H of truncated lengths (None for geometric ones), refusing before any work a
    gamma the lengths cannot sample (:func:`gamma_range`) or an H past max_horizon steps."""
    high, high_open = gamma_range(lengths)
    check_real("gamma", gamma, 0.0, high, high_open=high_open)
    if lengths != "truncated":
        return None
    return check_horizon(int(bounds.horizon(k, gamma, eps)), max_horizon, gamma, k, eps)


def trajectory_law(chain: ExpertChain, gamma: float, horizon: int | None, lengths: str):
    """(chain, decay, horizon) the samplers walk for ``lengths`` (one of LENGTHS): the expert's
    chain with visits weighted gamma^t up to H, or its killed chain, unweighted, to the end."""
    if lengths == "geometric":
        return chain.killed(gamma), 1.0, NO_HORIZON
    return chain, gamma, horizon


def expected_steps(chain: ExpertChain, horizon: int, m: float) -> tuple[float, float]:
    """(mean steps of a trajectory, rough mean steps of the longest of m): H and H, or for a
    chain that ends with probability p per step 1/p and about 1 + ln(m) / -ln(1 - p)."""
    if chain.ends == 0:
        return float(horizon), float(horizon)
    if chain.ends == 1:
        return 1.0, 1.0
    longest = 1.0 + math.log(max(m, 1.0)) / -math.log1p(-chain.ends)
    return min(horizon, 1.0 / chain.ends), min(horizon, longest)


def sampler_cost(sampler: str, chain: ExpertChain, m_grid, horizon: int) -> float:
    """Rough cost in walker-step units of one replicate: m_max steps per trajectory, or the C
    count chains' steps x S B x binomial cost."""
    grid = sorted_grid(m_grid)
    mean, longest = expected_steps(chain, horizon, float(grid[-1]))
    if sampler == "trajectories":
        return float(grid[-1]) * mean
    branching = float((chain.prob > 0).sum(axis=1).mean())
    return BINOMIAL_STEP_COST * len(grid) * longest * chain.S * branching


def choose_sampler(sampler: str, chain: ExpertChain, m_grid, horizon: int) -> str:
    """'auto' -> the cheaper sampler for this grid; other names pass through."""
    if sampler != "auto":
        return sampler
    costs = {s: sampler_cost(s, chain, m_grid, horizon) for s in ("trajectories", "counts")}
    return min(costs, key=costs.get)


def _segments(grid):
    lo = np.concatenate([[0], grid[:-1]])
    return lo, grid


def _units(grid, reps, rep_offset, unit):
    """Work units (rep index, segment, first trajectory, count) covering every segment."""
    lo, hi = _segments(grid)
    seg, start, count = [], [], []
    for c, (a, b) in enumerate(zip(lo, hi)):
        if unit is None:
            starts = np.array([a])
            sizes = np.array([b - a])
        else:
            starts = np.arange(a, b, unit, dtype=np.int64)
            sizes = np.minimum(unit, b - starts)
        seg.append(np.full(starts.size, c))
        start.append(starts)
        count.append(sizes)
    seg, start, count = (np.concatenate(x).astype(np.int64) for x in (seg, start, count))
    R, U = reps, seg.size
    rep = np.repeat(np.arange(R, dtype=np.int64), U)
    return rep, np.tile(seg, R), np.tile(start, R), np.tile(count, R), rep + rep_offset


def _run_units_cpu(sampler, chain, decay, horizon, seed, rep, start, count, out):
    if sampler == "trajectories":
        walk_units(chain.alias, chain.init_alias, decay, horizon, seed, rep, start, count, out)
    else:
        counts_units(*chain.counts_rows, decay, horizon, seed, rep, start, start + count, out)
    return out


def _run_units_gpu(sampler, chain, decay, horizon, seed, rep, start, count, threads):
    """The CUDA kernels on the same units: a (U, S) device array (CuPy where available)."""
    from .kernels import cuda as kernels

    if sampler == "trajectories":
        out = kernels.launch_walk(chain.alias, chain.init_alias, decay, horizon, seed, rep,
                                  start, count, chain.S, threads)
    else:
        out = kernels.launch_counts(*chain.counts_rows, decay, horizon, seed, rep, start,
                                    start + count, threads)
    try:
        import cupy

        return cupy.asarray(out)
    except ImportError:  # the CUDA simulator (CI): host arrays
        return out.copy_to_host()


def sample_occupancy(chain: ExpertChain, decay: float, horizon: int, m_grid, reps: int,
                     seed: int, sampler: str = "counts", rep_offset: int = 0,
                     progress=None, backend: str = "cpu", threads: int = 256):
    """Discounted state occupancy of the first m trajectories, for every replicate and m.

    Returns occ: (R, C, S) float64 with occ[r, c] = sum_{j < m_c} sum_{t < min(H, L_j)} decay^t
    [s_t^j = s] for replicate rep_offset + r (its RNG streams), m_c = sorted unique m_grid[c],
    L_j the length of trajectory j (infinite unless the chain ends; see :func:`trajectory_law`).
    backend "gpu" runs the CUDA kernels (same streams; see :mod:`mcirl.kernels.cuda`) and
    returns a CuPy array when CuPy is installed. progress: optional callable(done, total).
    """
    grid = sorted_grid(m_grid)
    sampler = choose_sampler(sampler, chain, grid, horizon)
    C, S = grid.size, chain.S
    unit = UNIT_TRAJECTORIES if sampler == "trajectories" else None
    rep, seg, start, count, stream_rep = _units(grid, reps, rep_offset, unit)
    total = rep.size
    batch = max(1, min(total, BATCH_ENTRIES // S))
    occ = None
    for lo in range(0, total, batch):
        hi = min(total, lo + batch)
        if backend == "gpu":
            buf = _run_units_gpu(sampler, chain, decay, horizon, seed, stream_rep[lo:hi],
                                 start[lo:hi], count[lo:hi], threads)
        else:
            buf = _run_units_cpu(sampler, chain, decay, horizon, seed, stream_rep[lo:hi],
                                 start[lo:hi], count[lo:hi], np.zeros((hi - lo, S)))
        xp = array_module(buf)
        if occ is None:
            occ = xp.zeros((reps, C, S))
        # add.at applies repeated indices in order: a fixed, thread-independent sum.
        xp.add.at(occ, (xp.asarray(rep[lo:hi]), xp.asarray(seg[lo:hi])), buf)
        if progress is not None:
            progress(hi, total)
    return xp.cumsum(occ, axis=1)


def mu_hat(occ, phi, m_grid):
    """(R, C, k) mu_hat_E = occ @ Phi / m for occ: (R, C, S), phi: (S, k), m_grid: (C,);
    on the device when occ is a CuPy array (phi is moved there)."""
    xp = array_module(occ)
    grid = xp.asarray(sorted_grid(m_grid), dtype=xp.float64)
    return (occ @ xp.asarray(phi)) / grid[None, :, None]
