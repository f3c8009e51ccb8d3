"""A synthetic preference model with a k-dimensional latent utility.

Items have latent attributes z ~ N(0, I_k) and observed features x = C z + sigma_x xi in R^d
(C: (d, k) with orthonormal columns, a uniformly random k-frame; xi ~ N(0, I_d)), so the items'
feature cloud has intrinsic dimension k. The true utility is u(x) = w . (B x) with B = C^T
(k x d: B x recovers z up to the feature noise) and w a unit vector in R^k, so u has variance
1 + sigma_x^2 whatever k and d are: every k, k = d included, is equally hard. (A Gaussian C
scaled by 1/sqrt(k) made C^T C ill-conditioned near k = d: condition number 209 and sd(u) = 2.07
in one instance, whose elbow then drove the scaling fits.) A comparison of items i, j
is won by i with probability sigma((u_i - u_j) / T), Bradley & Terry (1952) with temperature T.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit


@dataclass(frozen=True, eq=False)
class PreferenceModel:
    """Items and the true utility of one instance."""

    x: np.ndarray  #: (n_items, d) float64 item features
    u: np.ndarray  #: (n_items,) float64 true utilities u(x) = w . (B x)
    B: np.ndarray  #: (k, d) rank-k map to the latent attributes
    w: np.ndarray  #: (k,) unit weights
    temperature: float

    @property
    def direction(self) -> np.ndarray:
        """(d,) the utility as a linear function of x: u(x) = (B^T w) . x."""
        return self.B.T @ self.w


def make_model(k: int, d: int, temperature: float, n_items: int, feature_noise: float,
               rng: np.random.Generator) -> PreferenceModel:
    """Draw one instance (see the module docstring)."""
    C, _ = np.linalg.qr(rng.normal(size=(d, k)))  # (d, k), C^T C = I
    z = rng.normal(size=(n_items, k))
    x = z @ C.T + feature_noise * rng.normal(size=(n_items, d))
    B = C.T
    w = rng.normal(size=k)
    w /= np.linalg.norm(w)
    return PreferenceModel(x=x, u=x @ (B.T @ w), B=B, w=w, temperature=temperature)


def comparisons(model: PreferenceModel, n: int, rng: np.random.Generator, shape=()):
    """Pairs and outcomes: i, j: (*shape, n) int64 distinct items; p: P(i beats j);
    y: (*shape, n) +1 if i won, -1 if j did."""
    m = model.x.shape[0]
    i = rng.integers(0, m, size=(*shape, n))
    j = (i + rng.integers(1, m, size=(*shape, n))) % m  # uniform over items other than i
    p = expit((model.u[i] - model.u[j]) / model.temperature)
    y = np.where(rng.random(p.shape) < p, 1.0, -1.0)
    return i, j, p, y
