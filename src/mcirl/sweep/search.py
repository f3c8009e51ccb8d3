"""The adaptive m* search of one (cell, criterion) on pooled failure counts (docs/method.md).

Phase 1 evaluates the whole geometric grid in one batch per instance (nested prefixes: every m
of the batch reads the same trajectory pool). Phase 2 bisects in log m between the last grid
value whose pooled failure rate is above delta and the first from which it stays <= delta,
one m per step. The search is a small state machine: the runner asks :meth:`request` for the m
batch it needs, feeds pooled counts to :meth:`advance`, and stops at :attr:`done`.
"""

from __future__ import annotations

import math

from ..stats import sample_complexity


class MStarSearch:
    """Search state: grid, pooled counts seen so far, the current bracket."""

    def __init__(self, grid, delta: float, bisect_steps: int, confidence: float = 0.95,
                 full: int | None = None):
        self.grid = tuple(int(m) for m in grid)
        self.delta = delta
        self.confidence = confidence
        self.full = full  #: a point's rows when not stopped early (sequential replication)
        self.steps_left = bisect_steps
        self.counts: dict[int, tuple[int, int]] = {}  # m -> (failures, reps), pooled
        self._next: tuple | None = self.grid
        self.done = False

    def request(self) -> tuple | None:
        """The m batch to evaluate next (None when done)."""
        return None if self.done else self._next

    def advance(self, pooled: dict[int, tuple[int, int]]) -> None:
        """Take pooled (failures, reps) for every m of the requested batch; choose the next."""
        for m in self._next:
            self.counts[m] = pooled[m]
        result = self.result()
        self._next = None
        if self.steps_left > 0 and result.status == "found":
            evaluated = sorted(self.counts)
            upper = result.m_star
            lower = evaluated[evaluated.index(upper) - 1]
            if upper - lower > 1:
                mid = int(round(math.sqrt(lower * upper)))
                mid = min(max(mid, lower + 1), upper - 1)
                self._next = (mid,)
                self.steps_left -= 1
        self.done = self._next is None

    def result(self):
        """:class:`~mcirl.stats.SampleComplexity` of the pooled counts seen so far."""
        ms = sorted(self.counts)
        return sample_complexity(ms, [self.counts[m][0] for m in ms],
                                 [self.counts[m][1] for m in ms], self.delta, self.confidence,
                                 self.full)
