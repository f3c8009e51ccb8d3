import numpy as np
import pytest
from scipy.stats import binomtest

from mcirl.stats import clopper_pearson, clopper_pearson_lower, clopper_pearson_upper


@pytest.mark.parametrize("x, n", [(0, 10), (3, 10), (10, 10), (1, 1000), (500, 1000)])
def test_clopper_pearson_matches_scipy(x, n):
    lo, hi = clopper_pearson(x, n)
    ci = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
    assert lo == pytest.approx(ci.low, abs=1e-12)
    assert hi == pytest.approx(ci.high, abs=1e-12)


def test_vectorised_and_one_sided():
    lo, hi = clopper_pearson(np.array([0, 5, 20]), 20)
    assert lo[0] == 0 and hi[-1] == 1 and (lo <= hi).all()
    assert clopper_pearson_upper(0, 20, 0.95) == pytest.approx(1 - 0.05 ** (1 / 20))
    assert clopper_pearson_lower(20, 20, 0.95) == pytest.approx(0.05 ** (1 / 20))


def test_sample_complexity_reads_the_curve():
    from mcirl.stats import sample_complexity

    m = [1, 4, 16, 64, 256]
    sc = sample_complexity(m, [100, 90, 3, 0, 0], 100, delta=0.05)
    assert (sc.status, sc.m_star, sc.cap) == ("found", 16, 256)
    assert sc.m_lo == 4 and sc.m_hi == 64  # CP upper at 3/100 is 0.085 > 0.05; at 0/100, 0.036
    # a rate that dips below delta and rises again: m* is where it stays below
    assert sample_complexity(m, [100, 2, 50, 0, 0], 100, 0.05).m_star == 64
    above = sample_complexity(m, [100, 90, 60, 30, 20], 100, 0.05)
    assert above.status == "above_cap" and above.m_star is None and above.m_hi is None
    assert above.m_lo == 256  # still confidently failing at the cap
    below = sample_complexity(m, [0, 0, 0, 0, 0], 100, 0.05)
    assert below.status == "below_min" and below.m_star == 1 and below.m_lo is None
    shuffled = sample_complexity(m[::-1], [0, 0, 3, 90, 100], 100, 0.05)
    assert shuffled == sample_complexity(m, [100, 90, 3, 0, 0], 100, 0.05)


def test_the_bootstrap_band_of_a_weighted_mean_over_groups():
    from mcirl.stats import bootstrap_mean_band

    weights = np.array([[10.0, 5, 0], [30.0, 5, 0], [20.0, 5, 0]])
    values = np.array([[0.9, 1.0, np.nan], [0.8, 1.0, np.nan], [0.6, 1.0, np.nan]])
    low, high = bootstrap_mean_band(weights, values, draws=2000)
    pooled = (weights[:, 0] * values[:, 0]).sum() / weights[:, 0].sum()
    assert 0.6 <= low[0] < pooled < high[0] <= 0.9  # inside the groups' range, around the pooled mean
    assert low[1] == high[1] == 1.0  # groups that agree: no spread to show
    assert np.isnan(low[2]) and np.isnan(high[2])  # no weight at all: no band
    # a resampled group keeps its weight: the band is not that of the unweighted mean
    lopsided = bootstrap_mean_band(np.array([[1000.0], [1.0]]), np.array([[1.0], [0.0]]), draws=2000)
    assert np.quantile([1.0], 0.5) >= lopsided[1][0] >= 0.99


# ---------------------------------------------------------------- sequential replication

STREAMS, ROWS, BLOCK, LEVEL = 20_000, 1000, 10, 0.95
#: 5 standard errors above alpha at STREAMS streams: a sequence whose coverage is >= 1 - alpha
#: uniformly over looks passes except with probability below 1e-6.
ACCEPT = (1 - LEVEL) + 5 * np.sqrt(LEVEL * (1 - LEVEL) / STREAMS)


def _ever_misses(p, excludes):
    """Fraction of simulated Bernoulli(p) streams (fixed seed) in which ``excludes(failures, n,
    p)`` is true at some look, one look after every block of BLOCK rows up to ROWS."""
    rng = np.random.default_rng(12345)
    failures = np.cumsum(rng.random((STREAMS, ROWS)) < p, axis=1)[:, BLOCK - 1::BLOCK]
    n = np.broadcast_to(np.arange(BLOCK, ROWS + 1, BLOCK), failures.shape)
    return float(excludes(failures, n, p).any(axis=1).mean())


def _sequence_excludes(failures, n, p):
    """The confidence sequence excludes p: M_n(p) >= 1/alpha (vectorised; prior for delta = 0.05)."""
    from mcirl.stats import log_mixture_martingale, mixture_prior

    return log_mixture_martingale(failures, n, p, *mixture_prior(0.05)) >= np.log(1 / (1 - LEVEL))


def _clopper_pearson_excludes(failures, n, p):
    low, high = clopper_pearson(failures, n, LEVEL)
    return (low > p) | (high < p)


@pytest.mark.statistical
@pytest.mark.parametrize("p", [0.05, 0.01, 0.2])
def test_the_confidence_sequence_covers_uniformly_over_stopping_times(p):
    """Howard et al. (2021): P(the sequence ever excludes the true rate) <= alpha, looked at
    after every block of 10 rows up to 1000."""
    assert _ever_misses(p, _sequence_excludes) <= ACCEPT


@pytest.mark.statistical
def test_clopper_pearson_rechecked_after_every_block_under_covers():
    """The planted naive rule: a fixed-n interval looked at after every block excludes the
    true rate far more often than alpha; the check above rejects it."""
    assert _ever_misses(0.05, _clopper_pearson_excludes) > 2 * ACCEPT


def test_the_sequence_agrees_with_decided_and_is_wider_than_clopper_pearson():
    from mcirl.stats import confidence_sequence, decided

    for x, n in [(0, 80), (0, 81), (3, 3), (4, 4), (50, 1000), (10, 100), (0, 1000)]:
        low, high = confidence_sequence(x, n, 0.05)
        assert decided(x, n, 0.05) == (not low <= 0.05 <= high)
        cp_low, cp_high = clopper_pearson(x, n)
        assert low <= cp_low + 1e-12 and high >= cp_high - 1e-12
    assert not decided(0, 80, 0.05) and decided(0, 81, 0.05) and decided(4, 4, 0.05)


def test_an_early_stopped_point_reads_its_sequence_interval():
    from mcirl.stats import confidence_sequence, point_interval, sample_complexity

    assert point_interval(0, 100, 100, 0.05) == tuple(float(v) for v in clopper_pearson(0, 100))
    assert point_interval(0, 90, 100, 0.05) == confidence_sequence(0, 90, 0.05)
    curve = sample_complexity([10, 100, 1000], [9, 2, 0], [10, 100, 100], 0.05, full=100)
    assert curve.m_lo == 10 and curve.m_star == 100 and curve.m_hi == 1000  # CP at 100 rows: 2/100 not below


def test_an_mstar_found_only_at_the_cap_reads_as_such_and_takes_no_ratio():
    """Issue 51, item 5: a pooled m* equal to the search's cap is not a measurement (the rate
    reached delta only there); it reads '~cap (at the cap)' and no bound / m* is taken."""
    from mcirl.results import at_cap, mstar_text, resolved

    found = {"status": "found", "m_star": 168_443, "m_lo": 141_000, "m_hi": 230_733, "cap": 230_733}
    capped = {**found, "m_star": 230_733, "m_lo": 168_443, "m_hi": None}
    assert resolved(found) and not at_cap(found) and mstar_text(found) == "168,443 [141,000, 230,733]"
    assert at_cap(capped) and not resolved(capped) and mstar_text(capped) == "~230,733 (at the cap)"
    assert not resolved({**found, "status": "above_cap"}) and not resolved(None)
