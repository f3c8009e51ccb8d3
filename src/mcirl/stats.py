"""Statistics of failure counts: exact binomial confidence bounds."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _counts(failures, n):
    return np.broadcast_arrays(np.asarray(failures, dtype=np.float64),
                               np.asarray(n, dtype=np.float64))


def clopper_pearson_upper(failures, n, confidence):
    """One-sided upper Clopper-Pearson bound on a binomial proportion.

    failures, n: int arrays (broadcastable, n >= 1). Returns float64
    Beta^{-1}(confidence; x + 1, n - x), and 1 where x = n.
    """
    x, n = _counts(failures, n)
    with np.errstate(invalid="ignore"):
        return np.where(x < n, stats.beta.ppf(confidence, x + 1, np.maximum(n - x, 1)), 1.0)


def clopper_pearson_lower(failures, n, confidence):
    """One-sided lower Clopper-Pearson bound: Beta^{-1}(1 - confidence; x, n - x + 1), 0 at x = 0."""
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
