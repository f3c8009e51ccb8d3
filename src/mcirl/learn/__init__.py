"""Apprenticeship learners, batched over rows (replicates x checkpoints), and success criteria.

- :mod:`.projection`: Abbeel & Ng's projection and max-margin methods;
- :mod:`.mwal`: Syed & Schapire's multiplicative-weights learner;
- :mod:`.lpal`: Syed, Bowling & Schapire's linear program;
- :mod:`.min_norm`: Wolfe's min-norm point; :mod:`.hulls`: the learners' hulls, unpadded, and
  their points closest to mu_hat; :mod:`.criteria`: theorem, l2, regret;
- :mod:`.certificate`: proofs that a row's outcome is decided (issue 28).
"""

import numpy as np

from ..backend import to_numpy
from ..errors import InputError
from ..mdp.validate import require_mdp, require_rows
from .certificate import CERTIFICATES, PROJECTION_STEPS
from .criteria import CRITERIA, successes
from .lpal import lpal
from .min_norm import min_norm_points
from .mwal import mwal
from .projection import projection
from .result import DEFAULT_CAP, OUTCOMES, LearnResult

ALGORITHMS = ("projection", "max-margin", "mwal", "lpal")

__all__ = ["ALGORITHMS", "CERTIFICATES", "CRITERIA", "DEFAULT_CAP", "OUTCOMES", "PROJECTION_STEPS",
           "LearnResult", "certificate_applies", "learn", "lpal", "min_norm_points", "mwal", "projection",
           "successes"]


def certificate_applies(algorithm: str, step: str) -> bool:
    """Whether a certificate can be used: not by LPAL (it solves the game exactly, at once),
    not by projection with the paper's unclipped line step (mu_bar can leave the hull)."""
    return algorithm != "lpal" and not (algorithm == "projection" and step == "line")


def learn(mdp, mu_hat, eps, *, algorithm="projection", max_iter=DEFAULT_CAP, step="segment",
          certificate=True, progress=None):
    """Run ``algorithm`` on every row of mu_hat: (N, k) float64 estimates of mu_E.

    max_iter caps the policies computed (projection, max-margin) or MWAL's T; LPAL solves one
    LP per row. step: projection's "segment" (clipped) or "line" (the paper's) step;
    certificate: stop rows whose outcome is proven (:mod:`.certificate`); ignored where it does
    not apply (:func:`certificate_applies`). progress: optional callable(step,
    rows_still_running).
    """
    require_mdp(mdp)
    require_rows("mu_hat", mu_hat, mdp.k)
    certificate = certificate and certificate_applies(algorithm, step)
    if algorithm in ("projection", "max-margin"):
        return projection(mdp, mu_hat, eps, max_margin=algorithm == "max-margin",
                          max_iter=max_iter, step=step, certificate=certificate,
                          progress=progress)
    if algorithm == "mwal":
        return mwal(mdp, mu_hat, eps, max_iter=max_iter, certificate=certificate,
                    progress=progress)
    if algorithm == "lpal":  # HiGHS runs on the host whatever the backend
        return lpal(mdp.to(np), to_numpy(mu_hat), progress=progress)
    raise InputError("algorithm", f"must be one of {', '.join(ALGORITHMS)}", algorithm)
