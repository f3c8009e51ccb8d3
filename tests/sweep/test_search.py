import math

import numpy as np
import pytest

from mcirl.sweep.search import MStarSearch


def run(search, failure_probability, reps, rng=None):
    """Drive a search with synthetic pooled counts from a known failure curve."""
    while not search.done:
        batch = search.request()
        counts = {}
        for m in batch:
            p = failure_probability(m)
            f = int(round(p * reps)) if rng is None else int(rng.binomial(reps, p))
            counts[m] = (f, reps)
        search.advance(counts)
    return search.result()


def test_step_curve_is_found_exactly_by_bisection():
    m0 = 37
    search = MStarSearch([1, 4, 16, 64, 256, 1024], delta=0.05, bisect_steps=10)
    result = run(search, lambda m: 1.0 if m < m0 else 0.0, 200)
    assert result.status == "found" and result.m_star == m0
    assert result.m_lo == m0 - 1 and result.m_hi == m0
    assert {m0 - 1, m0} <= set(search.counts) and len(search.counts) <= 6 + 10


@pytest.mark.statistical
def test_smooth_curve_interval_contains_the_true_crossing():
    # failure rate exp(-m / 50): crosses delta = 0.05 at m = 50 ln 20 = 149.8
    truth = 50 * math.log(20)
    rng = np.random.default_rng(3)
    search = MStarSearch([1, 4, 16, 64, 256, 1024, 4096], delta=0.05, bisect_steps=6)
    result = run(search, lambda m: math.exp(-m / 50), 2000, rng)
    assert result.status == "found"
    assert result.m_lo < truth <= result.m_hi
    assert abs(math.log(result.m_star / truth)) < 0.3


def test_above_cap_and_below_min():
    high = run(MStarSearch([1, 10, 100], 0.05, 4), lambda m: 0.5, 100)
    assert high.status == "above_cap" and high.m_star is None and high.cap == 100
    low = run(MStarSearch([1, 10, 100], 0.05, 4), lambda m: 0.0, 100)
    assert low.status == "below_min" and low.m_star == 1


def test_no_bisection_when_steps_are_zero_or_bracket_is_tight():
    s = MStarSearch([1, 2, 4], 0.05, 0)
    run(s, lambda m: 1.0 if m < 3 else 0.0, 50)
    assert sorted(s.counts) == [1, 2, 4]
    s = MStarSearch([1, 2, 3], 0.05, 5)
    run(s, lambda m: 1.0 if m < 3 else 0.0, 50)
    assert sorted(s.counts) == [1, 2, 3]
