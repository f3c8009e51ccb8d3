"""Statistical checks shared by the tests, each tuned so a correct implementation fails less
than once in a million runs (p-value thresholds of 1e-6, or 5 standard errors)."""

from __future__ import annotations

import numpy as np
from scipy import stats

P_MIN = 1e-6
Z_MAX = 5.0  # two-sided p = 5.7e-7


def binomial_gof_pvalue(samples, n, p, bins=40):
    """Chi-square p-value of samples against Binomial(n, p), bins of equal probability."""
    edges = np.unique(stats.binom.ppf(np.linspace(0, 1, bins + 1)[1:-1], n, p))
    upper = np.concatenate([edges, [np.inf]])
    cdf = stats.binom.cdf(upper, n, p)
    expected = np.diff(np.concatenate([[0.0], cdf])) * len(samples)
    observed = np.bincount(np.searchsorted(edges, samples, side="left"), minlength=len(upper))
    keep = expected > 0
    return stats.chisquare(observed[keep], expected[keep] * observed[keep].sum() / expected[keep].sum()).pvalue


def categorical_gof_pvalue(samples, probs):
    """Chi-square p-value of integer samples against a categorical law (zero-probability
    categories must never appear)."""
    observed = np.bincount(samples, minlength=len(probs))
    if (observed[probs == 0] > 0).any():
        return 0.0
    keep = probs > 0
    return stats.chisquare(observed[keep], probs[keep] * len(samples)).pvalue


def two_proportion_z(x1, n1, x2, n2):
    """z statistic of the difference of two binomial proportions (pooled variance)."""
    p = (x1 + x2) / (n1 + n2)
    se = np.sqrt(max(p * (1 - p), 1e-12) * (1 / n1 + 1 / n2))
    return (x1 / n1 - x2 / n2) / se


def mean_z(samples, expected):
    """Per-coordinate z of the sample mean of samples (n, k) against expected (k,)."""
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    return (samples.mean(axis=0) - expected) / np.where(se > 0, se, np.inf)


def z_threshold(n_tests: int) -> float:
    """|z| bound for n_tests simultaneous two-sided normal tests at family-wise p = 1e-6."""
    return float(stats.norm.isf(P_MIN / (2 * n_tests)))


def moment_z(a, b):
    """z statistics comparing means and all covariance entries of samples a (n1, k), b (n2, k).

    Returns a flat array: k mean z's, then k(k+1)/2 covariance z's (products of centred
    coordinates compared as means, with their own standard errors).
    """
    def parts(x):
        c = x - x.mean(axis=0)
        i, j = np.triu_indices(x.shape[1])
        return np.concatenate([x, c[:, i] * c[:, j]], axis=1)

    pa, pb = parts(a), parts(b)
    se = np.sqrt(pa.var(axis=0, ddof=1) / len(pa) + pb.var(axis=0, ddof=1) / len(pb))
    return (pa.mean(axis=0) - pb.mean(axis=0)) / np.where(se > 0, se, np.inf)


def covariance_z(samples, cov, mean=None):
    """Largest |z| over the entries of the sample covariance of samples (N, k) against cov
    (k, k), each entry's standard error estimated from the samples' fourth moments (and the
    sample mean against mean (k,) when given). Under the null every z is asymptotically
    N(0, 1); with at most ~20 entries, a threshold of 6 is crossed with probability below 1e-7."""
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    products = centred[:, :, None] * centred[:, None, :]
    se = products.std(axis=0, ddof=1) / np.sqrt(n)
    z = np.abs(products.mean(axis=0) * n / (n - 1) - cov) / np.maximum(se, 1e-300)
    if mean is not None:
        z_mean = np.abs(x.mean(axis=0) - mean) / np.maximum(x.std(axis=0, ddof=1) / np.sqrt(n), 1e-300)
        return float(max(z.max(), z_mean.max()))
    return float(z.max())
