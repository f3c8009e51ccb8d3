"""The learners' hulls conv{mu_0, ..., mu_n} per row, stored without padding, and their points
closest to mu_hat.

Projection and max-margin add one point per iteration to every row still running, and a row
that stops never restarts. So row r's points are mu_0 followed by its row in each of the first
n_r iteration blocks, and storing the blocks as they come costs sum_i |rows running at i| k
floats. A padded (rows, longest hull, k) array costs rows x longest x k: at the S = 1024,
k = 1000, R = 1000 estimate cell (1000 rows capped at 1001 points, 3000 stopping near 135) that
is ~11 GB against ~33 GB.
"""

from __future__ import annotations

import numpy as np

from .min_norm import min_norm_points

#: Memory budget (float64 entries) of one padded chunk handed to the min-norm-point solver.
MNP_CHUNK_ENTRIES = 2**24


class HullPoints:
    """Host store of each row's hull points. mu0: (k,) float64 shared first point of N rows."""

    def __init__(self, mu0, N: int):
        self.mu0 = np.asarray(mu0, dtype=np.float64)
        self.counts = np.ones(N, dtype=np.int64)  #: points per row
        self._rows: list[np.ndarray] = []  # per iteration: ascending ids of the rows that grew
        self._blocks: list[np.ndarray] = []  # per iteration: (len(rows), k) their new points

    def add(self, rows, points):
        """One iteration's new points: rows (n,) ascending int ids, points (n, k) float64."""
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._blocks.append(np.asarray(points, dtype=np.float64))
        self.counts[rows] += 1

    def padded(self, rows):
        """points (len(rows), max count, k) zero-padded and counts (len(rows),) of ascending
        row ids: the layout :func:`min_norm_points` takes."""
        counts = self.counts[rows]
        out = np.zeros((len(rows), int(counts.max()), self.mu0.size))
        out[:, 0] = self.mu0
        for i in range(1, out.shape[1]):
            grew = counts > i  # rows never restart: block i holds exactly the rows this long
            out[grew, i] = self._blocks[i - 1][np.searchsorted(self._rows[i - 1], rows[grew])]
        return out, counts

    def closest(self, rows, target):
        """Point of each row's hull closest to its target: rows (n,) ascending ids, target
        (n, k). Returns lam (n, max count) convex weights and closest (n, k), on the host."""
        rows = np.asarray(rows, dtype=np.int64)
        target = np.ascontiguousarray(target, dtype=np.float64)
        n_max = int(self.counts[rows].max())
        lam = np.zeros((len(rows), n_max))
        closest = np.empty((len(rows), self.mu0.size))
        step = max(1, MNP_CHUNK_ENTRIES // (n_max * self.mu0.size))
        for lo in range(0, len(rows), step):
            points, counts = self.padded(rows[lo:lo + step])
            weights, closest[lo:lo + step], _ = min_norm_points(points, counts, target[lo:lo + step])
            lam[lo:lo + step, :weights.shape[1]] = weights
        return lam, closest
