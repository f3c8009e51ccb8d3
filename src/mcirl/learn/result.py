"""The outcome of a learner run, shared by every algorithm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How a row ends. ``terminated``: the learner's own stop (projection and max-margin: t <= eps/2;
#: MWAL: a certified duality gap or its theorem's T; LPAL: the LP solved). ``certified``: proven
#: never to terminate (a failure under every criterion). ``undecided``: stopped by the cap.
OUTCOMES = ("terminated", "certified", "undecided")
TERMINATED, CERTIFIED, UNDECIDED = range(3)
#: The default iteration cap (projection, max-margin: policies; MWAL: rounds). With the
#: certificate few rows reach it, so it costs little (benchmarks/README.md: 10,000 against
#: 1,000 took 1.0-1.7x the learner time on the seed-table cells and decided every row).
DEFAULT_CAP = 10_000


@dataclass(frozen=True, eq=False)
class LearnResult:
    """Per-row outcome of a learner run (N rows).

    Projection / max-margin: iterations are policies computed after pi_0 (for a certified row,
    the iteration whose lower bound proved it), t is the last margin, lower_bound the running
    max of LB_i (:func:`mcirl.learn.certificate.distance_lower_bound`). MWAL: iterations = rounds
    run, t = NaN, gap the certified duality gap. LPAL: iterations = 1 (one LP), t = minus its
    value. Fields an algorithm does not compute are NaN.
    """

    iterations: np.ndarray  #: (N,) int64
    outcome: np.ndarray  #: (N,) int8 index into OUTCOMES; only TERMINATED can succeed
    t: np.ndarray  #: (N,) float64 (see above)
    t_history: np.ndarray  #: (N, checks) float64 every t_i, NaN after a row stopped
    mu_tilde: np.ndarray  #: (N, k) float64 feature expectations of the output policy/mixture
    mixture: list  #: per row, the convex weights of the output mixture's policies
    lower_bound: np.ndarray | None = None  #: (N,) float64 proven ||mu_hat - mu|| for every achievable mu
    gap: np.ndarray | None = None  #: (N,) float64 MWAL's certified duality gap (feature units)

    def __post_init__(self):
        N = self.outcome.shape[0]
        for name in ("lower_bound", "gap"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(N, np.nan))

    @property
    def terminated(self) -> np.ndarray:
        """(N,) bool: rows that may succeed; every other row fails under every criterion."""
        return self.outcome == TERMINATED


def outcome_counts(codes) -> dict:
    """{outcome: rows} of an array of outcome codes."""
    return {name: int((codes == code).sum()) for code, name in enumerate(OUTCOMES)}


def outcomes_from_terminated(terminated) -> np.ndarray:
    """(N,) int8 outcome codes of rows that terminated or hit the cap (no certificate)."""
    return np.where(np.asarray(terminated, dtype=bool), TERMINATED, UNDECIDED).astype(np.int8)
