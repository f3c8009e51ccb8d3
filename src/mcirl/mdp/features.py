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


def sparse_weights(k: int, density: float, rng: np.random.Generator) -> np.ndarray:
    """(k,) weights: each non-zero with probability density (at least one), U[0, 1] values,
    normalised to ||w||_1 = 1 (Abbeel & Ng's gridworld: a few rewarding macrocells)."""
    mask = rng.random(k) < density
    if not mask.any():
        mask[rng.integers(k)] = True
    u = rng.random(k) * mask
    return u / u.sum()
