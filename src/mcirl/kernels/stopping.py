"""The certified stopping rules of policy evaluation, as scalar functions every solver calls.

One rule, one place: the CPU kernels (:mod:`.linalg`), the CUDA kernels (:mod:`.cuda_solve`,
which compile these ``@njit`` functions as device functions) and the test oracle reduce a sweep
to a few numbers and hand them here. The derivations are in :mod:`mcirl.solve.evaluate`:

- values, McQueen's bounds: after x <- Tx with Delta = Tx - x in [lo, hi] componentwise, V - Tx
  lies in gamma / (1 - gamma) [lo, hi]; the estimate moves to the middle of that interval and
  its sup-norm error is at most gamma / (1 - gamma) (hi - lo) / 2;
- occupancy, the remainder's known mass: after the terms up to gamma^n (scale = gamma^n), the
  rest has mass gamma^{n+1} / (1 - gamma) ||d0||_1 and is put on the last term q_n; its l1
  error is at most that rest times min(2 ||d0||_1, ||q_n - q_{n-1}||_1 / (1 - gamma)), each a
  unit of mass.
"""

from __future__ import annotations

from ..jit import njit


@njit
def values_bound(hi, lo, gamma):
    """(err, shift) for a values sweep whose changes Delta lie in [lo, hi]: the certified
    sup-norm error and the shift that centres the estimate in McQueen's interval."""
    c = gamma / (1.0 - gamma)
    return c * (hi - lo) / 2.0, c * (hi + lo) / 2.0


@njit
def values_done(err, size, tol):
    """Whether a values row is certified: error within tol of its sup norm ``size``."""
    return err <= tol * size


@njit
def occupancy_bound(scale, gamma, mass, change):
    """(rest, err) after the term scale = gamma^n of the occupancy series: the mass left to
    extrapolate onto the last term (per unit of ||d0||_1), and the certified l1 error given
    ``change`` = ||q_n - q_{n-1}||_1 and ``mass`` = ||d0||_1."""
    rest = scale * gamma / (1.0 - gamma)
    return rest, rest * min(2.0 * mass, change / (1.0 - gamma))


@njit
def occupancy_done(err, mass, gamma, tol):
    """Whether an occupancy row is certified: error within tol of its total mass / (1 - gamma)."""
    return err <= tol * mass / (1.0 - gamma)
