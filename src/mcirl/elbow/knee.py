"""Elbow detection: Kneedle (Satopaa, Albrecht, Irwin & Raghavan 2011, "Finding a 'Kneedle' in a
haystack") on held-out accuracy against log N, with bootstrap intervals over replicates.

Kneedle for an increasing concave curve: rescale x = log N and y = accuracy to [0, 1]; the knee
is the x maximising y - x (the point farthest above the chord from the first to the last point).
"""

from __future__ import annotations

import numpy as np


def kneedle(n, y):
    """The knee of curve y(n) (increasing, concave in log n): an n value, or None when the curve
    does not rise (no knee). n: (C,) increasing positive; y: (C,)."""
    n, y = np.asarray(n, float), np.asarray(y, float)
    if n.size < 3 or not y.max() > y.min():
        return None
    x = (np.log(n) - np.log(n[0])) / (np.log(n[-1]) - np.log(n[0]))
    yn = (y - y.min()) / (y.max() - y.min())
    diff = yn - x
    best = int(np.argmax(diff))
    if diff[best] <= 0:
        return None
    return float(n[best])


def bootstrap_knee(n, curves, draws=200, level=0.95, seed=0):
    """Knee of the mean curve with a percentile bootstrap interval over replicates.

    curves: (R, C) one accuracy curve per replicate. Returns (knee, low, high) (None entries
    where no knee is found).
    """
    curves = np.asarray(curves, float)
    knee = kneedle(n, curves.mean(axis=0))
    rng = np.random.default_rng(seed)
    R = curves.shape[0]
    knees = []
    for _ in range(draws):
        k = kneedle(n, curves[rng.integers(0, R, R)].mean(axis=0))
        if k is not None:
            knees.append(k)
    if not knees:
        return knee, None, None
    tail = (1 - level) / 2
    return knee, float(np.quantile(knees, tail)), float(np.quantile(knees, 1 - tail))
