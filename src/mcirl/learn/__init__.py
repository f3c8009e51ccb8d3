"""Apprenticeship learners, batched over rows (replicates x checkpoints), and success criteria.

- :mod:`.projection`: Abbeel & Ng's projection and max-margin methods;
- :mod:`.mwal`: Syed & Schapire's multiplicative-weights learner;
- :mod:`.lpal`: Syed, Bowling & Schapire's linear program;
- :mod:`.min_norm`: Wolfe's min-norm point; :mod:`.hulls`: the learners' hulls, unpadded, and
  their points closest to mu_hat; :mod:`.criteria`: theorem, l2, regret.
"""

import numpy as np

from .criteria import CRITERIA, successes
from .lpal import lpal
from .min_norm import min_norm_points
from .mwal import mwal
from .projection import projection
from .result import LearnResult, to_numpy

ALGORITHMS = ("projection", "max-margin", "mwal", "lpal")

__all__ = ["ALGORITHMS", "CRITERIA", "LearnResult", "learn", "lpal", "min_norm_points", "mwal",
           "projection", "successes"]


def learn(mdp, mu_hat, eps, *, algorithm="projection", max_iter=1000, progress=None):
    """Run ``algorithm`` on every row of mu_hat: (N, k) float64 estimates of mu_E.

    max_iter caps the policies computed (projection, max-margin) or MWAL's T; LPAL solves one
    LP per row. progress: optional callable(step, rows_still_running).
    """
    if algorithm in ("projection", "max-margin"):
        return projection(mdp, mu_hat, eps, max_margin=algorithm == "max-margin",
                          max_iter=max_iter, progress=progress)
    if algorithm == "mwal":
        return mwal(mdp, mu_hat, eps, max_iter=max_iter, progress=progress)
    if algorithm == "lpal":  # HiGHS runs on the host whatever the backend
        return lpal(mdp.to(np), to_numpy(mu_hat), progress=progress)
    raise ValueError(f"unknown algorithm {algorithm!r}")
