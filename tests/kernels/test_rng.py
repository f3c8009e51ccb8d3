import numba as nb
import numpy as np

from mcirl.kernels.rng import TESTING, draw, stream_key, uniform_open
from tests.stats_checks import P_MIN, categorical_gof_pvalue


@nb.njit
def uniforms(seed, a, n):
    key = stream_key(seed, TESTING, a, 0, 0)
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform_open(draw(key, i))
    return out


def test_uniform_open_range_and_law():
    u = uniforms(1, 0, 200_000)
    assert u.min() > 0 and u.max() < 1
    bins = np.floor(u * 100).astype(np.int64)
    assert categorical_gof_pvalue(bins, np.full(100, 0.01)) > P_MIN


def test_streams_are_deterministic_and_distinct():
    np.testing.assert_array_equal(uniforms(7, 3, 1000), uniforms(7, 3, 1000))
    a, b = uniforms(7, 3, 100_000), uniforms(7, 4, 100_000)
    assert not np.array_equal(a, b)
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 5 / np.sqrt(len(a))
    keys = {int(stream_key(s, k, a, b, c)) for s in range(3) for k in (1, 2)
            for a in range(4) for b in range(4) for c in range(3)}
    assert len(keys) == 3 * 2 * 4 * 4 * 3
