"""Feature maps phi: (S, k) in [0, 1] and true-reward weights w: (k,), ||w||_1 = 1."""

from __future__ import annotations

import numpy as np


def onehot_partition(S: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(S, k) one-hot features of a random balanced partition of the S >= k states into k cells."""
    labels = rng.permutation(S) % k
    return onehot(labels, k)


def onehot(labels: np.ndarray, k: int) -> np.ndarray:
    """(S, k) float64 indicator matrix of integer labels (S,) in [0, k)."""
    phi = np.zeros((labels.shape[0], k))
    phi[np.arange(labels.shape[0]), labels] = 1.0
    return phi


def dense_uniform(S: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """(S, k) features i.i.d. U[0, 1]."""
    return rng.random((S, k))


def sparse_binary(S: int, k: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """(S, k) features i.i.d. Bernoulli(density) in {0, 1}."""
    return (rng.random((S, k)) < density).astype(np.float64)


def macrocells(N: int, M: int) -> np.ndarray:
    """(N*N,) macrocell label of each cell of an N x N grid cut into (N/M)^2 blocks of M x M."""
    row, col = np.divmod(np.arange(N * N), N)
    return (row // M) * (N // M) + col // M


def dense_weights(k: int, rng: np.random.Generator) -> np.ndarray:
    """(k,) weights U[0, 1], normalised to ||w||_1 = 1."""
    u = rng.random(k)
    return u / u.sum()


def low_rank_weights(k: int, r: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(B, w): B (k, r) float64 with orthonormal columns spanning a uniformly random
    r-dimensional subspace (QR of a Gaussian matrix, signs fixed so the draw is Haar), and the
    true reward w = B u / ||B u||_1 (k,) for u ~ N(0, I_r): a reward that lives in the
    subspace, ||w||_1 = 1 as every family's (issue 'The bottleneck experiment')."""
    q, upper = np.linalg.qr(rng.standard_normal((k, r)))
    basis = q * np.sign(np.diag(upper))  # Mezzadri 2007: the Haar measure needs these signs
    w = basis @ rng.standard_normal(r)
    return basis, w / np.abs(w).sum()


def sparse_weights(k: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """(k,) weights: each non-zero with probability density (at least one), U[0, 1] values,
    normalised to ||w||_1 = 1 (Abbeel & Ng's gridworld: a few rewarding macrocells)."""
    mask = rng.random(k) < density
    if not mask.any():
        mask[rng.integers(k)] = True
    u = rng.random(k) * mask
    return u / u.sum()
