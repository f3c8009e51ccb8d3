import numba as nb
import numpy as np

from mcirl.kernels.alias import alias_step, alias_tables
from mcirl.kernels.rng import TESTING, draw, stream_key
from tests.stats_checks import P_MIN, categorical_gof_pvalue


def implied_probabilities(table, S_out):
    """The exact law a packed alias table samples (up to the multiply-shift slot choice)."""
    S, B, _ = table.shape
    keep = table[..., 0] / 2.0**32
    p = np.zeros((S, S_out))
    for s in range(S):
        for j in range(B):
            p[s, table[s, j, 1]] += keep[s, j] / B
            p[s, table[s, j, 2]] += (1 - keep[s, j]) / B
    return p


def test_tables_encode_the_rows_to_32_bits(rng):
    S, B = 30, 6
    nxt = np.stack([rng.choice(S, B, replace=False) for _ in range(S)]).astype(np.int64)
    prob = rng.dirichlet(np.full(B, 0.5), size=S)
    prob[:, -1] = 0.0  # a padding slot
    prob /= prob.sum(axis=1, keepdims=True)
    table = alias_tables(nxt, prob)
    target = np.zeros((S, S))
    np.add.at(target, (np.repeat(np.arange(S), B), nxt.ravel()), prob.ravel())
    np.testing.assert_allclose(implied_probabilities(table, S), target, atol=B * 2.0**-32)
    assert not (implied_probabilities(table, S)[target == 0] > 0).any()


@nb.njit
def sample_row(table, s, n):
    key = stream_key(5, TESTING, 1, 0, 0)
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = alias_step(table, s, draw(key, i))
    return out


def test_alias_step_samples_the_row():
    prob = np.array([[0.5, 0.2, 0.0, 0.3], [0.05, 0.05, 0.45, 0.45]])
    nxt = np.array([[3, 1, 0, 2], [0, 1, 2, 3]], dtype=np.int64)
    table = alias_tables(nxt, prob)
    draws = sample_row(table, 0, 200_000)
    assert categorical_gof_pvalue(draws, np.array([0.0, 0.2, 0.3, 0.5])) > P_MIN
    # Power check: the same draws are rejected against a slightly wrong law.
    assert categorical_gof_pvalue(draws, np.array([0.0, 0.21, 0.29, 0.5])) < P_MIN
    uniform = alias_tables(np.arange(7, dtype=np.int64)[None], np.full((1, 7), 1 / 7))
    assert categorical_gof_pvalue(sample_row(uniform, 0, 140_000), np.full(7, 1 / 7)) > P_MIN
