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
