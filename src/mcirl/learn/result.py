"""The outcome of a learner run, shared by every algorithm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class LearnResult:
    """Per-row outcome of a learner run (N rows).

    Projection / max-margin: iterations are policies computed after pi_0, terminated means
    t_i <= eps/2 within the cap, t is the last margin. MWAL: iterations = T, always terminated,
    t = NaN. LPAL: iterations = 1 (one LP), terminated = the LP was solved, t = minus its value.
    """

    iterations: np.ndarray  #: (N,) int64
    terminated: np.ndarray  #: (N,) bool; False is a failure under every criterion
    t: np.ndarray  #: (N,) float64 (see above)
    t_history: np.ndarray  #: (N, checks) float64 every t_i, NaN after a row stopped
    mu_tilde: np.ndarray  #: (N, k) float64 feature expectations of the output policy/mixture
    mixture: list  #: per row, the convex weights of the output mixture's policies


def to_numpy(a):
    """A host (NumPy) copy of a NumPy or CuPy array."""
    return a.get() if hasattr(a, "get") else np.asarray(a)
