"""Elbow detection: Kneedle (Satopaa, Albrecht, Irwin & Raghavan 2011, "Finding a 'Kneedle' in a
haystack") on held-out accuracy against log N, with bootstrap intervals over replicates.

Kneedle for an increasing concave curve: rescale x = log N and y = accuracy to [0, 1]; the knee
is the x maximising y - x (the point farthest above the chord from the first to the last point).
"""

from __future__ import annotations

import numpy as np


def kneedles(n, y):
    """Knees of a batch of curves: (D,) float64 n values, NaN where a curve has no knee.

    n: (C,) increasing positive; y: (D, C), each row a curve increasing and concave in log n.
    A curve that does not rise, or never lies above its chord, has no knee.
    """
    n, y = np.asarray(n, float), np.asarray(y, float)
    if n.size < 3:
        return np.full(y.shape[0], np.nan)
    x = (np.log(n) - np.log(n[0])) / (np.log(n[-1]) - np.log(n[0]))
    lo, span = y.min(axis=1, keepdims=True), np.ptp(y, axis=1, keepdims=True)
    # A flat curve rescales to 0, whose best point (0 - x at x = 0) is not above the chord.
    diff = (y - lo) / np.where(span > 0, span, 1.0) - x
    best = np.argmax(diff, axis=1)
    found = np.take_along_axis(diff, best[:, None], axis=1)[:, 0] > 0
    return np.where(found, n[best], np.nan)


def kneedle(n, y):
    """The knee of one curve y: (C,) over n: (C,): an n value, or None when it has none."""
    knee = kneedles(n, np.asarray(y, float)[None])[0]
    return None if np.isnan(knee) else float(knee)


def bootstrap_knee(n, curves, draws=200, level=0.95, seed=0):
    """Knee of the mean curve with a percentile bootstrap interval over replicates.

    curves: (R, C) one accuracy curve per replicate. Returns (knee, low, high) (None entries
    where no knee is found); resamples without a knee are left out of the interval.
    """
    curves = np.asarray(curves, float)
    R = curves.shape[0]
    knee = kneedle(n, curves.mean(axis=0))
    picks = np.random.default_rng(seed).integers(0, R, (draws, R))
    # times[d, r]: how often draw d picked replicate r, so its mean curve is a product.
    times = np.bincount((picks + R * np.arange(draws)[:, None]).ravel(), minlength=draws * R)
    knees = kneedles(n, times.reshape(draws, R) @ curves / R)
    knees = knees[~np.isnan(knees)]
    if not knees.size:
        return knee, None, None
    tail = (1 - level) / 2
    return knee, float(np.quantile(knees, tail)), float(np.quantile(knees, 1 - tail))


# Elbows that do not depend on the grid's range. Both read a curve of *normalised* accuracy,
# a(N) = (accuracy(N) - 1/2) / (Bayes accuracy - 1/2): 0 at chance, 1 at the Bayes-optimal
# predictor (on real data the plateau stands in for Bayes). Kneedle's knee moves with the grid's
# ends (the same k = 10 curve gave 45, 64, 91 or 128 as n_min and n_max changed) because it
# rescales the curve to the grid; these do not: extending the grid leaves them where they are
# once the grid reaches them.

#: The elbow definitions: "gap" (the default), "doubling", "kneedle".
ELBOW_METHODS = ("gap", "doubling", "kneedle")
#: What a curve's elbow can be: found, or the reason there is none.
ELBOW_STATUS = ("found", "not reached", "no rise")


def gap_elbows(n, a, fraction):
    """(D,) the smallest n at which the normalised accuracy a: (D, C) is within ``fraction`` of
    the Bayes accuracy (a >= 1 - fraction): the N that captures 1 - fraction of the achievable
    gain over chance. NaN where the grid never gets there."""
    n, a = np.asarray(n, float), np.asarray(a, float)
    close = a >= 1.0 - fraction
    return np.where(close.any(axis=1), n[np.argmax(close, axis=1)], np.nan)


def doubling_elbows(n, a, threshold):
    """(D,) the smallest grid n from which every doubling of N gains less than ``threshold`` of
    normalised accuracy (the gain between grid points divided by the doublings between them).
    NaN where the last step still gains that much (not reached)."""
    n, a = np.asarray(n, float), np.asarray(a, float)
    gain = np.diff(a, axis=1) / np.diff(np.log2(n))  # (D, C - 1)
    steep = gain >= threshold
    # the last steep step; the elbow is the grid point after it (the first if none is steep)
    last = np.where(steep.any(axis=1), steep.shape[1] - 1 - np.argmax(steep[:, ::-1], axis=1), -1)
    return np.where(steep[:, -1], np.nan, n[last + 1])


def elbows(method, n, a, fraction=0.1, threshold=0.02):
    """(D,) elbows of normalised curves a: (D, C) by ``method`` (NaN: none)."""
    if method == "gap":
        return gap_elbows(n, a, fraction)
    if method == "doubling":
        return doubling_elbows(n, a, threshold)
    return kneedles(n, a)


def elbow_status(n, a, knee, rise=0.05) -> str:
    """'found', or why a mean curve a: (C,) has no elbow: 'no rise' when it gains less than
    ``rise`` of the achievable accuracy over the grid (flat or decreasing: "no elbow" is an
    answer), else 'not reached' (it still climbs at the grid's end)."""
    if a[-1] - a[0] < rise:
        return "no rise"
    return "found" if np.isfinite(knee) else "not reached"


def nested_bootstrap(curves, draws, seed):
    """(draws, C) mean curves of a two-level bootstrap: instances resampled with replacement,
    then replicates within each chosen instance; curves: (I, R, C). The spread covers both the
    instance-to-instance variation (seeds of the latent model) and the training sets'."""
    curves = np.asarray(curves, float)
    n_inst, R, _ = curves.shape
    rng = np.random.default_rng(seed)
    which = rng.integers(0, n_inst, (draws, n_inst))
    reps = rng.integers(0, R, (draws, n_inst, R))
    return curves[which[..., None], reps].mean(axis=(1, 2))


def percentile_interval(values, level=0.95):
    """(low, high) percentile interval of the finite values (None, None without any)."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not values.size:
        return None, None
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))
