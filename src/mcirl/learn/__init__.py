"""Apprenticeship learners, batched over rows (replicates x checkpoints), and success criteria.

- :mod:`.projection`: Abbeel & Ng's projection and max-margin methods;
- :mod:`.mwal`: Syed & Schapire's multiplicative-weights learner;
- :mod:`.lpal`: Syed, Bowling & Schapire's linear program;
- :mod:`.min_norm`: Wolfe's min-norm point; :mod:`.hulls`: the learners' hulls, unpadded, and
  their points closest to mu_hat; :mod:`.criteria`: theorem, l2, regret;
- :mod:`.certificate`: proofs that a row's outcome is decided: failure (it can never stop) and
  success (it is sure to stop and succeed).
"""

import numpy as np

from ..backend import to_numpy
from ..errors import InputError, check_choice
from ..mdp.validate import require_mdp, require_rows
from ..solve import feature_error
from .certificate import (CERTIFICATES, DEFAULT_CERTIFICATE, DEFAULT_PROJECTION_STEP, PROJECTION_STEPS,
                          failure_applies, success_applies,
                          success_certificate)
from .criteria import CRITERIA, successes
from .lpal import lpal
from .min_norm import min_norm_points
from .mwal import mwal
from .projection import projection
from .result import DEFAULT_CAP, OUTCOMES, LearnResult, with_assured

ALGORITHMS = ("projection", "max-margin", "mwal", "lpal")

__all__ = ["ALGORITHMS", "CERTIFICATES", "CRITERIA", "DEFAULT_CAP", "DEFAULT_CERTIFICATE",
           "DEFAULT_PROJECTION_STEP", "OUTCOMES", "PROJECTION_STEPS",
           "LearnResult", "failure_applies", "learn", "lpal", "min_norm_points", "mwal", "projection",
           "default_certificate", "resolve_certificate", "success_applies", "successes"]


def default_certificate(certificate: str, step: str) -> str:
    """The certificate asked for, with the default filled in: "" (not given) and "auto" are
    DEFAULT_CERTIFICATE, or "off" with projection's line step, where no certificate is valid."""
    if certificate in ("", "auto"):
        return "off" if step == "line" else DEFAULT_CERTIFICATE
    return certificate


def resolve_certificate(certificate: str, algorithm: str, step: str) -> str:
    """The certificates a learner uses, "on", "failure" or "off", from the one asked for
    (:data:`CERTIFICATES` or "auto"): each certificate where it applies
    (:func:`.certificate.success_applies`, :func:`.certificate.failure_applies`); "auto" is
    "on" wherever a certificate applies. "on" or "failure" with projection's line step is
    refused: mu_bar can leave the hull there, so neither proof holds."""
    certificate = default_certificate(certificate, step if algorithm == "projection" else "segment")
    check_choice("certificate", certificate, CERTIFICATES + ("auto",))
    if certificate in ("on", "failure") and algorithm == "projection" and step == "line":
        raise InputError("certificate", "must be off with the line projection step (mu_bar can "
                         "leave the hull, so no row can be certified)", certificate)
    if certificate == "off" or not failure_applies(algorithm, step):
        return "off"
    return "on" if certificate != "failure" and success_applies(algorithm, step) else "failure"


def learn(mdp, mu_hat, eps, *, algorithm="projection", max_iter=DEFAULT_CAP,
          projection_step=DEFAULT_PROJECTION_STEP, certificate=DEFAULT_CERTIFICATE, expert=None,
          progress=None):
    """Run ``algorithm`` on every row of mu_hat: (N, k) float64 estimates of mu_E.

    max_iter caps the policies computed (projection, max-margin) or MWAL's T; LPAL solves one
    LP per row. projection_step: "segment" (clipped) or "line" (the paper's).
    certificate (:func:`resolve_certificate`): "failure" stops rows proven never to succeed
    (:mod:`.certificate`); "on" also skips rows proven to succeed, outcome ``assured``, which
    needs the expert's exact feature expectations ``expert`` (k,) float64, known only to a
    simulation (without it, "on" uses the failure certificates alone). progress: optional
    callable(step, rows_still_running).
    """
    require_mdp(mdp)
    require_rows("mu_hat", mu_hat, mdp.k)
    check_choice("algorithm", algorithm, ALGORITHMS)
    certificate = resolve_certificate(certificate, algorithm, projection_step)
    if certificate == "on" and expert is not None:
        assured, _ = success_certificate(mu_hat, expert, eps, feature_error(mdp))
        assured = to_numpy(assured)
        if assured.any():
            run = np.flatnonzero(~assured)
            rest = learn(mdp, mu_hat[run], eps, algorithm=algorithm, max_iter=max_iter,
                         projection_step=projection_step,
                         certificate="failure", progress=progress) if run.size else None
            return with_assured(rest, assured, mdp.k)
    failure = certificate != "off"
    if algorithm in ("projection", "max-margin"):
        return projection(mdp, mu_hat, eps, max_margin=algorithm == "max-margin",
                          max_iter=max_iter, projection_step=projection_step, certificate=failure,
                          progress=progress)
    if algorithm == "mwal":
        return mwal(mdp, mu_hat, eps, max_iter=max_iter, certificate=failure,
                    progress=progress)
    return lpal(mdp.to(np), to_numpy(mu_hat), progress=progress)  # HiGHS runs on the host
