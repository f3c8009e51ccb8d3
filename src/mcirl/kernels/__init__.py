"""Numba kernels: the expert samplers and the scalar device logic they share.

Layout (numba CUDA's "CPU/GPU compatible function" pattern): every per-step computation is a
plain ``@njit`` function of scalars and arrays that never imports ``numba.cuda``:

- :mod:`.rng`: counter-based random numbers keyed by (seed, stream kind, replicate, index);
- :mod:`.alias`: Walker/Vose alias tables and the alias-method next-state step;
- :mod:`.binomial`: an exact binomial sampler (inversion / Hoermann's BTRS) and the
  multinomial split of a count over a row of successors;
- :mod:`.trajectories`: walk m expert trajectories, accumulate discounted state occupancy;
- :mod:`.counts`: advance the multinomial state counts of m chains (cost independent of m).

CPU kernels parallelise with ``prange`` over fixed-size work units, so results do not depend on
the number of threads. CUDA kernels (the GPU backend) call the same device functions.
"""
