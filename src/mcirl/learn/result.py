"""The outcome of a learner run, shared by every algorithm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How a row ends. ``terminated``: the learner's own stop (projection and max-margin: t <= eps/2;
#: MWAL: a certified duality gap or its theorem's T; LPAL: the LP solved). ``certified``: proven
#: never to terminate (a failure under every criterion). ``undecided``: stopped by the cap.
#: ``assured``: proven to succeed under every criterion before the learner ran, which it then
#: does not (:func:`mcirl.learn.certificate.success_certificate`).
OUTCOMES = ("terminated", "certified", "undecided", "assured")
TERMINATED, CERTIFIED, UNDECIDED, ASSURED = range(4)
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


def with_assured(result: LearnResult | None, assured: np.ndarray, k: int) -> LearnResult:
    """The result for all N rows of a batch whose ``assured`` rows (N,) bool were not run and
    whose other rows ran as ``result`` (None when none ran; k features): assured rows get
    outcome ASSURED, 0 iterations, NaN margins and mu_tilde (never computed) and an empty
    mixture."""
    N, run = assured.size, np.flatnonzero(~assured)
    if result is None:
        result = LearnResult(iterations=np.zeros(0, np.int64), outcome=np.zeros(0, np.int8),
                             t=np.zeros(0), t_history=np.zeros((0, 0)), mu_tilde=np.zeros((0, k)),
                             mixture=[])

    def spread(values, fill):
        out = np.full((N, *values.shape[1:]), fill, dtype=values.dtype)
        out[run] = values
        return out

    mixture = [np.zeros(0)] * N
    for row, weights in zip(run, result.mixture):
        mixture[row] = weights
    return LearnResult(
        iterations=spread(result.iterations, 0), outcome=spread(result.outcome, ASSURED),
        t=spread(result.t, np.nan), t_history=spread(result.t_history, np.nan),
        mu_tilde=spread(result.mu_tilde, np.nan), mixture=mixture,
        lower_bound=spread(result.lower_bound, np.nan), gap=spread(result.gap, np.nan))


def outcome_counts(codes) -> dict:
    """{outcome: rows} of an array of outcome codes."""
    return {name: int((codes == code).sum()) for code, name in enumerate(OUTCOMES)}


def outcomes_from_terminated(terminated) -> np.ndarray:
    """(N,) int8 outcome codes of rows that terminated or hit the cap (no certificate)."""
    return np.where(np.asarray(terminated, dtype=bool), TERMINATED, UNDECIDED).astype(np.int8)
