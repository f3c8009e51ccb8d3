"""Exact binomial variates for n up to ~1e11, driven by the counter-based RNG.

``binomial(n, p, key, counter) -> (x, counter)`` consumes draws ``counter, counter + 1, ...`` of
the stream ``key`` and returns the advanced counter, so a chain of binomials is reproducible from
its key alone, on any thread or device.

- n * min(p, 1-p) < 10: inversion by geometric waiting times (sum Geometric(p) gaps until they
  pass n; about n p + 1 draws).
- otherwise: BTRS, the transformed rejection with squeeze of Hoermann (1993), "The generation of
  binomial random variates", J. Stat. Comput. Simul. 46, algorithm BTRS (the same family as BTRD;
  BTRS is what TensorFlow and JAX use). Acceptance is tested against the exact log pmf ratio,
  with Stirling-series corrections, so the output law is exactly Binomial(n, p) up to float64
  rounding (relative pmf error below 1e-6 at n = 1e11).
"""

from __future__ import annotations

import math

import numpy as np

from ..jit import njit

from .rng import draw, uniform_open

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@njit
def stirling_tail(k):
    """log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2] for k >= 0 (float)."""
    if k <= 9.0:
        return math.lgamma(k + 1.0) - (k + 0.5) * math.log(k + 1.0) + (k + 1.0) - _HALF_LOG_2PI
    x2 = (k + 1.0) * (k + 1.0)
    # Stirling series to the x^-7 term: error below 4e-13 for k >= 10.
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / 1680 / x2) / x2) / x2) / (k + 1.0)


@njit
def _inversion(n, p, key, counter):
    log_q = math.log1p(-p)
    gaps = 0.0
    x = np.int64(0)
    while True:
        u = uniform_open(draw(key, counter))
        counter += 1
        gap = math.log(u) / log_q
        # ceil(gap) passes n - gaps exactly when gap does; testing before the ceil keeps it from
        # an int64 overflow (gap reaches ~1e300 for p ~ 1e-300, as sparse Dirichlet rows have),
        # which wrapped round to a negative gap and never ended the loop
        if gap > n - gaps:
            return x, counter
        gaps += math.ceil(gap)
        x += 1


@njit
def _btrs(n, p, key, counter):
    nf = np.float64(n)
    spq = math.sqrt(nf * p * (1.0 - p))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = nf * p + 0.5
    v_r = 0.92 - 4.2 / b
    r = p / (1.0 - p)
    alpha = (2.83 + 5.1 / b) * spq
    m = math.floor((nf + 1.0) * p)
    while True:
        u = uniform_open(draw(key, counter)) - 0.5
        v = uniform_open(draw(key, counter + 1))
        counter += 2
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + c)
        if k < 0.0 or k > nf:
            continue
        if us >= 0.07 and v <= v_r:
            return np.int64(k), counter
        v = math.log(v * alpha / (a / (us * us) + b))
        # log f(k)/f(m) + log of the hat's normalisation; log1p keeps (n+1) log(...) accurate
        # when n is ~1e11 and the ratio is within 1e-6 of one.
        bound = ((m + 0.5) * math.log((m + 1.0) / (r * (nf - m + 1.0)))
                 + (nf + 1.0) * math.log1p((k - m) / (nf - k + 1.0))
                 + (k + 0.5) * math.log(r * (nf - k + 1.0) / (k + 1.0))
                 + stirling_tail(m) + stirling_tail(nf - m)
                 - stirling_tail(k) - stirling_tail(nf - k))
        if v <= bound:
            return np.int64(k), counter


@njit
def binomial(n, p, key, counter):
    """One Binomial(n, p) variate. n: int64 >= 0, p: float64. Returns (x int64, next counter)."""
    if n <= 0 or p <= 0.0:
        return np.int64(0), counter
    if p >= 1.0:
        return np.int64(n), counter
    q = p if p <= 0.5 else 1.0 - p
    if n * q < 10.0:
        x, counter = _inversion(n, q, key, counter)
    else:
        x, counter = _btrs(n, q, key, counter)
    if p > 0.5:
        x = n - x
    return x, counter
