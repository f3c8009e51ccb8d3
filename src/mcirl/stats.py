"""Statistics of failure counts: exact binomial confidence bounds, anytime-valid confidence
sequences for sequential replication, empirical sample complexity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _counts(failures, n):
    return np.broadcast_arrays(np.asarray(failures, dtype=np.float64),
                               np.asarray(n, dtype=np.float64))


def clopper_pearson_upper(failures, n, confidence):
    """One-sided upper Clopper-Pearson bound on a binomial proportion.

    failures, n: int arrays (broadcastable, n >= 1). Returns float64
    Beta^{-1}(confidence; x + 1, n - x), and 1 where x = n.
    """
    from scipy import stats  # imported when used: it was a third of every command's start-up

    x, n = _counts(failures, n)
    with np.errstate(invalid="ignore"):
        return np.where(x < n, stats.beta.ppf(confidence, x + 1, np.maximum(n - x, 1)), 1.0)


def clopper_pearson_lower(failures, n, confidence):
    """One-sided lower Clopper-Pearson bound: Beta^{-1}(1 - confidence; x, n - x + 1), 0 at x = 0."""
    from scipy import stats

    x, n = _counts(failures, n)
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, stats.beta.ppf(1 - confidence, np.maximum(x, 1), n - x + 1), 0.0)


def clopper_pearson(failures, n, confidence=0.95):
    """Clopper & Pearson (1934) exact two-sided interval: the one-sided bounds at 1 - alpha/2.

    Returns (low, high), float64 arrays of the broadcast shape of failures and n.
    """
    one_sided = 1.0 - (1.0 - confidence) / 2
    return (clopper_pearson_lower(failures, n, one_sided),
            clopper_pearson_upper(failures, n, one_sided))


def mixture_prior(delta: float) -> tuple[float, float]:
    """(a, b) of the Beta prior of :func:`log_mixture_martingale` for deciding a rate against
    delta: Beta(1/2, (1 - delta) / (2 delta)), whose mean is delta, so the mixture puts its mass
    where the decisions are. For delta = 0.05 a point with no failure is decided after 81 rows
    and one failing every row after 4 (Clopper-Pearson, valid only for a fixed n: 59 and 2)."""
    return 0.5, 0.5 * (1.0 - delta) / delta


def log_mixture_martingale(failures, n, p, a: float, b: float):
    """log M_n(p) = log B(a + x, b + n - x) - log B(a, b) - x log p - (n - x) log(1 - p), the
    beta-binomial mixture of likelihood ratios (Robbins 1970): for x failures in n Bernoulli(p)
    rows, M_n(p) is a nonnegative martingale with M_0 = 1 under the true p, so by Ville's
    inequality P(M_n(p) >= 1/alpha for some n) <= alpha (Howard, Ramdas, McAuliffe & Sekhon
    2021, "Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49,
    section 3's conjugate mixtures). failures, n: int arrays; p in (0, 1). Returns float64."""
    from scipy.special import betaln

    x, n = _counts(failures, n)
    return (betaln(a + x, b + n - x) - betaln(a, b) - x * np.log(p) - (n - x) * np.log1p(-p))


def confidence_sequence(failures: int, n: int, delta: float, confidence: float = 0.95):
    """(low, high): the anytime-valid confidence sequence {p : M_n(p) < 1 / (1 - confidence)}
    of :func:`log_mixture_martingale` with the prior of :func:`mixture_prior` at x failures in
    n rows. It covers the true rate at every n at once with probability >= confidence, so a
    point may be looked at after every block of rows and stopped as soon as it excludes delta
    (Howard et al. 2021). log M_n is convex in p with its minimum, <= 0, at x / n: each end is
    the root of log M_n(p) = log(1 / alpha) on its side."""
    from scipy import optimize

    a, b = mixture_prior(delta)
    level = np.log(1.0 / (1.0 - confidence))
    hat = failures / n

    def excess(p):
        return float(log_mixture_martingale(failures, n, p, a, b)) - level

    tiny = 1e-15
    hat = min(max(hat, tiny), 1 - tiny)
    low = 0.0 if failures == 0 or excess(tiny) < 0 else optimize.brentq(excess, tiny, hat, xtol=1e-14)
    high = 1.0 if failures == n or excess(1 - tiny) < 0 else optimize.brentq(excess, hat, 1 - tiny, xtol=1e-14)
    return float(low), float(high)


def decided(failures: int, n: int, delta: float, confidence: float = 0.95) -> bool:
    """Whether the confidence sequence at x failures in n rows excludes delta: the point's rate
    is proven above or below delta, at any stopping time."""
    a, b = mixture_prior(delta)
    return bool(log_mixture_martingale(failures, n, delta, a, b) >= np.log(1.0 / (1.0 - confidence)))


def point_interval(failures: int, n: int, full: int, delta: float, confidence: float = 0.95):
    """(low, high) of a point of a failure curve: Clopper-Pearson when it ran all ``full`` of
    its rows (a fixed sample size), the confidence sequence when it stopped early (a stopping
    time, where a fixed-n interval would under-cover)."""
    if n >= full:
        low, high = clopper_pearson(failures, n, confidence)
        return float(low), float(high)
    return confidence_sequence(failures, n, delta, confidence)


@dataclass(frozen=True)
class SampleComplexity:
    """Empirical sample complexity read off a failure curve (docs/method.md).

    status: "found" (m_star is the smallest evaluated m from which every evaluated rate is
    <= delta), "below_min" (already at the smallest m evaluated), or "above_cap" (no evaluated
    m reaches delta: m* > cap, and m_star is None, never a number).
    m_lo: the largest evaluated m whose Clopper-Pearson lower bound is above delta (m* > m_lo
    with confidence), None if there is none. m_hi: the smallest evaluated m from which every
    Clopper-Pearson upper bound is <= delta (m* <= m_hi with confidence), None if there is none.
    """

    status: str
    m_star: int | None
    m_lo: int | None
    m_hi: int | None
    cap: int


def sample_complexity(m, failures, reps, delta, confidence=0.95, full=None) -> SampleComplexity:
    """m* and its interval from failure counts at evaluated m values.

    m: (n,) int distinct evaluated values (any order); failures, reps: (n,) int counts there;
    full: the rows a point has when it is not stopped early (None: every point ran all its
    rows). A point with fewer rows was stopped by sequential replication, and its interval is
    the confidence sequence's (:func:`point_interval`), not Clopper-Pearson's.
    """
    order = np.argsort(np.asarray(m))
    m = np.asarray(m, dtype=np.int64)[order]
    failures = np.asarray(failures)[order]
    reps = np.broadcast_to(np.asarray(reps), m.shape)[order]
    if full is None:
        low, high = clopper_pearson(failures, reps, confidence)
    else:
        low, high = map(np.array, zip(*(point_interval(int(f), int(n), full, delta, confidence)
                                        for f, n in zip(failures, reps))))

    def first_of_final_run(ok):
        """Index where the final run of True values starts, or None if ok[-1] is False."""
        if not ok[-1]:
            return None
        bad = np.flatnonzero(~ok)
        return int(bad[-1] + 1) if bad.size else 0

    point = first_of_final_run(failures / reps <= delta)
    upper = first_of_final_run(high <= delta)
    above = np.flatnonzero(low > delta)
    status = "above_cap" if point is None else ("below_min" if point == 0 else "found")
    return SampleComplexity(
        status=status,
        m_star=None if point is None else int(m[point]),
        m_lo=int(m[above[-1]]) if above.size else None,
        m_hi=None if upper is None else int(m[upper]),
        cap=int(m[-1]))


def detectable_rate(reps: int, delta: float, confidence: float, power: float = 0.9) -> float:
    """Smallest true failure rate that a one-sided test "Clopper-Pearson lower bound at
    ``confidence`` > delta" on ``reps`` replicates detects with probability >= power."""
    from scipy import optimize, stats

    x = np.arange(reps + 1)
    flagged = np.flatnonzero(clopper_pearson_lower(x, reps, confidence) > delta)
    if flagged.size == 0:
        return 1.0
    critical = int(flagged[0])

    def power_gap(p):  # P(X >= critical) - power: increasing in p, and 1 - power > 0 at p = 1
        return stats.binom.sf(critical - 1, reps, p) - power

    if power_gap(delta) >= 0:
        return float(delta)
    return float(optimize.brentq(power_gap, delta, 1.0, xtol=1e-15))


def bootstrap_mean_band(weights, values, draws: int = 400, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap band of a weighted mean over groups, per column.

    weights: (G, n) float64 >= 0 (e.g. the replicates each MDP instance contributed at each m);
    values: (G, n) float64, the groups' means (NaN where a group has no weight). The groups
    (rows) are resampled with replacement ``draws`` times; returns (low, high), each (n,),
    NaN where no group has weight. With few groups the band reflects only the spread between
    them that the data show (the groups' own replicates are not stored separately).
    """
    weights, values = np.asarray(weights, float), np.asarray(values, float)
    values = np.where(weights > 0, values, 0.0)
    picks = np.random.default_rng(seed).integers(0, weights.shape[0], (draws, weights.shape[0]))
    w, v = weights[picks], values[picks]  # (draws, G, n)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (w * v).sum(axis=1) / total  # (draws, n); NaN where a draw has no weight
    tail = (1 - level) / 2
    low = np.full(weights.shape[1], np.nan)
    high = np.full(weights.shape[1], np.nan)
    for c in range(weights.shape[1]):
        column = means[:, c][np.isfinite(means[:, c])]
        if column.size:
            low[c], high[c] = np.quantile(column, tail), np.quantile(column, 1 - tail)
    return low, high


def slope(ks, ms) -> float:
    """The exponent b of the least-squares fit log m = a + b log k (m* or N_elbow against the
    number of features); NaN with fewer than two distinct k.

    ks, ms: (n,) positive numbers."""
    ks, ms = np.asarray(ks, float), np.asarray(ms, float)
    if np.unique(ks).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(ks), np.log(ms), 1)[0])


def slope_interval(ks, lows, highs) -> tuple[float, float]:
    """The slopes of log m against log k that the m* intervals allow at their extremes: the
    least-squares slope through the lower ends at the smaller half of the k values and the upper
    ends at the larger half (the steepest the intervals permit), and the reverse (the
    flattest). With two k this is exactly the range of lines through both intervals."""
    ks, lows, highs = (np.asarray(v, float) for v in (ks, lows, highs))
    if np.unique(ks).size < 2:
        return float("nan"), float("nan")
    large = ks > np.median(ks) if np.unique(ks).size > 2 else ks == ks.max()
    steep = slope(ks, np.where(large, highs, lows))
    flat = slope(ks, np.where(large, lows, highs))
    return min(steep, flat), max(steep, flat)
