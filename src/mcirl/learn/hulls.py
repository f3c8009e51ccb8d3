"""The learners' hulls conv{mu_0, ..., mu_n} per row, stored without padding, and their points
closest to mu_hat.

Projection and max-margin add one point per iteration to every row still running, and a row
that stops never restarts. So row r's points are mu_0 followed by its row in each of the first
n_r iteration blocks, and storing the blocks as they come costs sum_i |rows running at i| k
floats. A padded (rows, longest hull, k) array costs rows x longest x k: at the S = 1024,
k = 1000, R = 1000 estimate cell (1000 rows capped at 1001 points, 3000 stopping near 135) that
is ~11 GB against ~33 GB.

A row that stops is *settled* (:meth:`HullPoints.settle`): its closest point and mixture are
computed at once and its points are no longer needed, so the blocks are compacted whenever
settled rows' points outnumber the live ones. Memory then follows the points of the rows still
running, not every point any row ever had (a dense k = 1000, gamma = 0.99 grid task held
~10 GiB of finished rows' points before).
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
        self._settled = np.zeros(N, dtype=bool)
        self._lam: dict = {}  # settled row -> (counts[row],) convex weights of its closest point
        self._closest = np.full((N, self.mu0.size), np.nan)  # settled rows' closest points
        self._dead = 0  # stored points of settled rows, not yet compacted away
        self._live = 0  # stored points of the other rows

    def add(self, rows, points):
        """One iteration's new points: rows (n,) ascending int ids, points (n, k) float64."""
        self._rows.append(np.asarray(rows, dtype=np.int64))
        self._blocks.append(np.asarray(points, dtype=np.float64))
        self.counts[rows] += 1
        self._live += len(rows)

    @property
    def stored(self) -> int:
        """Points held (the blocks' rows): what the store's memory follows, k floats each."""
        return sum(len(r) for r in self._rows)

    def padded(self, rows):
        """points (len(rows), max count, k) zero-padded and counts (len(rows),) of ascending
        row ids not yet settled: the layout :func:`min_norm_points` takes."""
        counts = self.counts[rows]
        out = np.zeros((len(rows), int(counts.max()), self.mu0.size))
        out[:, 0] = self.mu0
        for i in range(1, out.shape[1]):
            grew = counts > i  # rows never restart: block i holds exactly the rows this long
            out[grew, i] = self._blocks[i - 1][np.searchsorted(self._rows[i - 1], rows[grew])]
        return out, counts

    def closest(self, rows, target):
        """Point of each row's hull closest to its target: rows (n,) ascending ids not yet
        settled, target (n, k). Returns lam (n, max count) convex weights and closest (n, k),
        on the host."""
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

    def settle(self, rows, target):
        """Rows (n,) ascending ids that will grow no more, with their targets (n, k): their
        closest points and mixtures are computed now and their points let go."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            return
        lam, self._closest[rows] = self.closest(rows, target)
        for j, r in enumerate(rows):
            self._lam[int(r)] = lam[j, :self.counts[r]].copy()
        self._settled[rows] = True
        moved = int((self.counts[rows] - 1).sum())
        self._dead += moved
        self._live -= moved
        if self._dead > self._live:
            self._compact()

    def _compact(self):
        for i, rows in enumerate(self._rows):
            keep = ~self._settled[rows]
            self._rows[i], self._blocks[i] = rows[keep], self._blocks[i][keep]
        self._dead = 0

    def results(self, target):
        """(mixtures, closest): every row's convex weights (a list of (counts[r],) arrays) and
        closest point (N, k), settling the rows not yet settled against target (N, k)."""
        rest = np.flatnonzero(~self._settled)
        self.settle(rest, np.asarray(target)[rest])
        return [self._lam[r] for r in range(self.counts.size)], self._closest
