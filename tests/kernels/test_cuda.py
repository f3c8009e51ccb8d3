"""The CUDA kernels against the CPU kernels: under numba's simulator in CI (tiny sizes), on the
device where there is one. Same RNG streams: the walker visits the very same states (sums agree
to rounding, atomics reorder them); count chains agree integer for integer, bit for bit."""

import numpy as np
import pytest

from mcirl.kernels import cuda as kernels
from mcirl.sample import NO_HORIZON, ExpertChain, _units, sample_occupancy
from mcirl.sample import _run_units_cpu

THREADS = 8  # the simulator runs one Python thread per CUDA thread


def chain(S, B, seed=0):
    rng = np.random.default_rng(seed)
    nxt = np.stack([rng.choice(S, B, replace=False) for _ in range(S)]).astype(np.int64)
    prob = rng.dirichlet(np.ones(B), size=S)
    prob[0, -1] = 0.0  # a padding slot
    prob[0] /= prob[0].sum()
    return ExpertChain(nxt=nxt, prob=prob, d0=rng.dirichlet(np.ones(S)))


def units(grid, reps, offset, unit):
    rep, seg, start, count, stream_rep = _units(np.array(grid), reps, offset, unit)
    return stream_rep, start, count


def host(a):
    return a.copy_to_host()


@pytest.mark.parametrize("S", [6, kernels.SHARED_STATES + 3])  # shared and global histograms
def test_walker_walks_the_cpu_trajectories(S):
    c = chain(S, 3)
    rep, start, count = units([5, 13], 2, 1, 4)
    H = 4 if S > 100 else 12
    gpu = host(kernels.launch_walk(c.alias, c.init_alias, 0.9, H, 7, rep, start, count, S, THREADS))
    cpu = _run_units_cpu("trajectories", c, 0.9, H, 7, rep, start, count, np.zeros((rep.size, S)))
    np.testing.assert_allclose(gpu, cpu, rtol=1e-13, atol=1e-13)
    assert gpu.sum() > 0


def test_walker_ends_trajectories_where_the_cpu_does():
    """Geometric lengths: the killed chain, undiscounted, walked until each trajectory ends."""
    c = chain(6, 3, seed=1).killed(0.7)
    rep, start, count = units([5, 13], 2, 1, 4)
    gpu = host(kernels.launch_walk(c.alias, c.init_alias, 1.0, NO_HORIZON, 7, rep, start, count,
                                   6, THREADS))
    cpu = _run_units_cpu("trajectories", c, 1.0, NO_HORIZON, 7, rep, start, count,
                         np.zeros((rep.size, 6)))
    np.testing.assert_array_equal(gpu, cpu)  # integer visit counts: exact in any order
    assert (gpu.sum(axis=1) >= count).all()


@pytest.mark.parametrize("grid", [[3, 40], [7, 2 * 10**10]])
@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_count_chains_equal_the_cpu_bit_for_bit(grid, lengths):
    c, decay, H = chain(7, 3, seed=2), 0.8, 9
    if lengths == "geometric":  # the killed chain, to the end (about 50 steps at m = 2e10)
        c, decay, H = c.killed(0.6), 1.0, NO_HORIZON
    rep, start, count = units(grid, 2, 0, None)
    gpu = host(kernels.launch_counts(*c.counts_rows, decay, H, 5, rep, start, start + count,
                                     THREADS))
    cpu = _run_units_cpu("counts", c, decay, H, 5, rep, start, count, np.zeros((rep.size, 7)))
    np.testing.assert_array_equal(gpu, cpu)


@pytest.mark.parametrize("sampler", ["trajectories", "counts"])
def test_sample_occupancy_on_the_gpu_backend(sampler):
    c = chain(5, 2, seed=4)
    kwargs = dict(decay=0.7, horizon=8, m_grid=[2, 9], reps=3, seed=1, sampler=sampler)
    gpu = sample_occupancy(c, backend="gpu", threads=THREADS, **kwargs)
    cpu = sample_occupancy(c, **kwargs)
    gpu = gpu.get() if hasattr(gpu, "get") else gpu
    np.testing.assert_allclose(gpu, cpu, rtol=1e-13)
