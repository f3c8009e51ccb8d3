"""Rank-r regularised Bradley-Terry fits, batched over replicates (array-module generic).

The rank-r model scores items by theta . (P_r x), where P_r: (r, d) projects onto the top r
principal directions of the item features (unsupervised: the items are known, only their
utility is not), and P(i beats j) = sigma(theta . P_r (x_i - x_j)). theta: (r,) maximises the
L2-penalised likelihood

    sum_n log sigma(y_n theta . f_n) - (lam / 2) ||theta||^2,   f_n = P_r (x_i - x_j),

by Newton's method (the objective is strictly concave), for all replicates at once:
gradients (R, r), Hessians (R, r, r), one batched solve per step.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module

#: On separable comparisons Newton's steps raise the margins by about 1 each, towards
#: log(|f|^2 N / lam): about 100 at the config's limits (elbow.experiment.RIDGE_MIN,
#: FEATURE_NOISE_MAX); fits that converge stop early.
NEWTON_STEPS = 200
TOLERANCE = 1e-10
#: Halvings of a Newton step that lowers the objective (see :func:`_newton_step`): 10 shrink
#: it 1000x, far above the settling tolerance, so a halved step never passes for convergence.
BACKTRACKS = 10
#: Floor of the Hessian's ridge relative to its mean diagonal (see :func:`fit_logistic`).
DAMPING = 1e-10


def principal_directions(x):
    """(d, d) principal directions of item features x: (n, d), by decreasing variance."""
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    d = x.shape[1]
    if vt.shape[0] < d:  # fewer items than features: complete the basis
        q, _ = np.linalg.qr(np.concatenate([vt.T, np.eye(d)], axis=1))
        vt = q[:, :d].T
    return vt


def _sigmoid(xp, t):
    # 1 / (1 + e^-t) to full relative precision in both tails (0.5 (1 + tanh(t/2)) is 0 from
    # t ~ -37, which stalls Newton's steps on separable data) and without overflow
    return xp.exp(-xp.logaddexp(0.0, -t))


def _margins(xp, features, y, theta):
    """(R, N) margins y_n theta . f_n of theta: (R, r)."""
    return y * xp.einsum("rnk,rk->rn", features, theta)


def _curvature(xp, features, margin):
    """(s (R, N), the data term of the Hessian (R, r, r)) at the margins: s = sigma(-margin),
    the weight of each comparison in the gradient, s (1 - s) in the curvature."""
    s = _sigmoid(xp, -margin)  # d/dmargin of -log sigma(margin) is -s
    return s, xp.einsum("rn,rnk,rnl->rkl", s * (1.0 - s), features, features)


def _objective(xp, margin, theta, lam):
    """The penalised log-likelihood (R,) at theta: (R, r) with margins y_n theta . f_n: (R, N)
    and ridges lam: (R,)."""
    return -xp.logaddexp(0.0, -margin).sum(axis=1) - 0.5 * lam * (theta ** 2).sum(axis=1)


def _newton_step(xp, features, y, theta, lam):
    """One safeguarded Newton step of the penalised likelihood at theta: (R, r) with ridges
    lam: (R,). Returns (step (R, r), the data term of the Hessian (R, r, r)). The system's
    ridge is floored (see :func:`fit_logistic`); the gradient keeps lam. A step that lowers
    the objective is halved (at most BACKTRACKS times): plain Newton is not globally
    convergent on the logistic loss, and from a warm start far from the optimum (a previous
    N's fit, a ridge that just moved by decades) its full steps can run away; near the optimum
    the full step always rises, so converged fits are plain Newton's."""
    r = features.shape[2]
    margin = _margins(xp, features, y, theta)
    s, data = _curvature(xp, features, margin)
    grad = xp.einsum("rn,rnk->rk", y * s, features) - lam[:, None] * theta
    ridge = xp.maximum(lam, DAMPING * xp.trace(data, axis1=1, axis2=2) / r)
    step = xp.linalg.solve(data + ridge[:, None, None] * xp.eye(r), grad[..., None])[..., 0]
    value = _objective(xp, margin, theta, lam)
    floor = value - 1e-12 * (1.0 + xp.abs(value))
    for _ in range(BACKTRACKS):
        trial = theta + step
        worse = _objective(xp, _margins(xp, features, y, trial), trial, lam) < floor
        if not bool(worse.any()):
            break
        step = xp.where(worse[:, None], 0.5 * step, step)
    return step, data


def _settled(xp, step, theta):
    return xp.abs(step).max(axis=1) <= TOLERANCE * (1.0 + xp.abs(theta).max(axis=1))


def fit_logistic(features, y, lam, with_convergence=False, theta0=None):
    """theta: (R, r) maximising the penalised likelihood for features: (R, N, r), y: (R, N)
    in {-1, +1}, lam > 0 (a number, or one per row: (R,)); theta0: (R, r) a warm start (default
    0); with_convergence: (theta, converged) with converged: (R,) bool, False for a row whose
    Newton steps had not settled after NEWTON_STEPS (its theta is the last iterate, to be
    reported as unconverged, never silently used as the optimum).

    The Newton system's ridge is max(lam, DAMPING x mean diagonal of the data term): when lam
    is negligible beside the data (fewer comparisons than dimensions, huge features) the
    Hessian is singular in float64 and the solve fails (NumPy) or returns NaN (CuPy). The floor
    changes only the step, not the fixed point (the gradient keeps lam), and only where lam is
    below it, so ordinary fits are plain Newton's.
    """
    xp = array_module(features)
    R, N, r = features.shape
    lam = xp.broadcast_to(xp.asarray(lam, dtype=float), (R,))
    theta = xp.zeros((R, r)) if theta0 is None else xp.array(theta0, dtype=float)
    converged = xp.zeros(R, dtype=bool)
    for _ in range(NEWTON_STEPS):
        step, _ = _newton_step(xp, features, y, theta, lam)
        theta = theta + step
        converged = _settled(xp, step, theta)
        if bool(converged.all()):
            break
    return (theta, converged) if with_convergence else theta


#: The ridge rule that gives each fit the ridge maximising its evidence (:func:`fit_evidence`).
EVIDENCE = "evidence"
#: The range of the evidence-maximising ridge. A row at the top is one whose evidence still
#: rose there: the comparisons show no signal the prior does not explain, and theta is about
#: (sum_n y_n f_n) / (2 lam), the mean-difference direction (held-out accuracy depends only
#: on theta's direction, so the cap does not change it).
EVIDENCE_RIDGES = (1e-6, 1e6)
#: Well-determined parameters (MacKay's gamma) below which a rising ridge goes to the top of
#: EVIDENCE_RIDGES (see :func:`fit_evidence`).
NO_SIGNAL = 1e-2
#: The ridge of a row is fixed once an update moves log(lam) by less than this.
EVIDENCE_TOLERANCE = 1e-3


def fit_evidence(features, y, lam0=1.0, theta0=None):
    """The fit with each row's ridge chosen by maximising its evidence (type-II likelihood):
    (theta (R, r), lam (R,), converged (R,) bool) for features: (R, N, r), y: (R, N) in
    {-1, +1}; lam0 (a number or (R,)) and theta0 (R, r) warm-start the iteration (on nested
    prefixes, the previous N's answer).

    The prior theta ~ N(0, lam^-1 I) and the Laplace approximation at the penalised optimum
    theta* give MacKay's fixed point (MacKay 1992, "The evidence framework applied to
    classification networks", Neural Computation 4(5); Bishop 2006, PRML section 3.5.2, eqs.
    3.91-3.92, on the Laplace approximation of section 4.4): lam = gamma / ||theta*||^2, with
    gamma = r - lam tr(H^-1) the number of well-determined parameters and H = the data Hessian
    + lam I. It treats the data Hessian as fixed, so it lands near, not exactly at, the
    maximum of :func:`log_evidence` (within 0.1 nats in the tests, which check it against
    that evidence on a grid of ridges).

    Each Newton step of theta is followed by one update of log(lam) towards the fixed point,
    over-relaxed while the updates keep their sign (a factor 2 per step, at most 64, back to 1
    when they flip: without it a row whose evidence rises without bound creeps up by ~1.5% a
    step), clipped to EVIDENCE_RIDGES. A row whose ridge rises while it has fewer than
    NO_SIGNAL well-determined parameters goes to the top at once and is fixed there (no signal
    beyond the prior); a warm start at the top restarts from lam = 1. Otherwise a row's ridge
    is fixed once an update and its Newton step are both below EVIDENCE_TOLERANCE, and its
    theta then settles at Newton's optimum for that ridge, so ``converged`` means what it means
    in :func:`fit_logistic`. With warm starts along N it costs 1.3-2.1x a fixed-ridge fit
    (benchmarks/bench_elbow_ridge.py).
    """
    xp = array_module(features)
    R, N, r = features.shape
    lo, hi = math.log(EVIDENCE_RIDGES[0]), math.log(EVIDENCE_RIDGES[1])
    log_lam = xp.log(xp.broadcast_to(xp.asarray(lam0, dtype=float), (R,))).copy()
    # a previous answer at the top is no start: there gamma ~ 0 whatever the data, and the
    # rule below would keep the row at the top although more comparisons now show a signal
    log_lam = xp.where(log_lam >= hi - EVIDENCE_TOLERANCE, 0.0, log_lam)
    theta = xp.zeros((R, r)) if theta0 is None else xp.array(theta0, dtype=float)
    # from theta = 0 the first steps are far from any optimum: update lam only after them
    start = 3 if theta0 is None else 0
    omega, previous = xp.ones(R), xp.zeros(R)
    fixed = xp.zeros(R, dtype=bool)
    settled = xp.zeros(R, dtype=bool)
    eye = xp.eye(r)
    for step_count in range(NEWTON_STEPS):
        lam = xp.exp(log_lam)
        step, data = _newton_step(xp, features, y, theta, lam)
        theta = theta + step
        settled = _settled(xp, step, theta)
        if step_count < start:
            continue
        if bool((settled & fixed).all()):
            break
        gamma = r - lam * xp.trace(xp.linalg.inv(data + lam[:, None, None] * eye), axis1=1, axis2=2)
        target = xp.log(xp.clip(gamma / xp.maximum((theta ** 2).sum(axis=1), 1e-300),
                                EVIDENCE_RIDGES[0], EVIDENCE_RIDGES[1]))
        move = target - log_lam
        omega = xp.where(move * previous > 0, xp.minimum(2.0 * omega, 64.0), 1.0)
        previous = move
        new = xp.clip(log_lam + omega * move, lo, hi)
        # fewer than NO_SIGNAL well-determined parameters and the ridge still rising: the prior
        # decides theta, the evidence is flat to within ~gamma nats from here up, MacKay's moves
        # shrink to ~1e-4 a step, and theta's direction, all that held-out accuracy reads, is
        # already the one of lam -> infinity (sum_n y_n f_n): go to the top and stay there
        jump = (gamma < NO_SIGNAL) & (move > 0) & ~fixed
        new = xp.where(jump, hi, new)
        # fixed only where theta is near its optimum: a warm start's first update (theta still the
        # previous N's) would otherwise freeze a ridge the new comparisons do not choose
        near = xp.abs(step).max(axis=1) <= EVIDENCE_TOLERANCE * (1.0 + xp.abs(theta).max(axis=1))
        fixed = fixed | jump | (near & (xp.abs(new - log_lam) < EVIDENCE_TOLERANCE))
        log_lam = xp.where(fixed, log_lam, new)
    return theta, xp.exp(log_lam), settled & fixed


def log_evidence(features, y, theta, lam):
    """The Laplace approximation of the log evidence of ridge lam: (R,) at the penalised
    optimum theta: (R, r) (Bishop 2006, PRML eq. 4.137 with the prior N(0, lam^-1 I)):
    sum_n log sigma(y_n theta . f_n) - lam ||theta||^2 / 2 + (r/2) log lam - (1/2) log det H.
    For tests and diagnostics: :func:`fit_evidence` maximises it."""
    xp = array_module(features)
    r = features.shape[2]
    lam = xp.broadcast_to(xp.asarray(lam, dtype=float), theta.shape[:1])
    margin = _margins(xp, features, y, theta)
    _, data = _curvature(xp, features, margin)
    _, logdet = xp.linalg.slogdet(data + lam[:, None, None] * xp.eye(r))
    return _objective(xp, margin, theta, lam) + 0.5 * r * xp.log(lam) - 0.5 * logdet


def held_out(theta, test_features, p_true):
    """Expected held-out accuracy and log-loss of fitted models against the true
    probabilities (no label noise in the evaluation).

    theta: (R, r); test_features: (T, r); p_true: (T,) P(first item wins). Returns
    (accuracy (R,), logloss (R,)).
    """
    xp = array_module(theta)
    score = theta @ test_features.T  # (R, T)
    first = score > 0
    accuracy = xp.where(first, p_true, 1.0 - p_true).mean(axis=1)
    q = xp.clip(_sigmoid(xp, score), 1e-15, 1 - 1e-15)
    logloss = -(p_true * xp.log(q) + (1.0 - p_true) * xp.log(1.0 - q)).mean(axis=1)
    return accuracy, logloss


def bayes(p_true):
    """Bayes-optimal expected accuracy and log-loss for true probabilities p_true: (T,)."""
    p = np.clip(np.asarray(p_true), 1e-15, 1 - 1e-15)
    return float(np.maximum(p, 1 - p).mean()), float(-(p * np.log(p) + (1 - p) * np.log(1 - p)).mean())


def cross_validated_ridge(features, y, ridges, folds: int = 2):
    """The ridge of ``ridges`` with the best held-out log-likelihood in ``folds``-fold cross-
    validation on the comparisons themselves (fold f holds out every folds-th comparison from
    f), pooled over the replicates: one ridge per (N, rank), chosen from the training data
    alone. features: (R, N, r); y: (R, N). With fewer comparisons than folds, the smallest
    ridge's neighbour is not testable and the largest ridge is returned (the prior dominates)."""
    xp = array_module(features)
    N = features.shape[1]
    if N < folds:
        return float(max(ridges))
    order = xp.arange(N) % folds
    scores = []
    for lam in ridges:
        total = 0.0
        for f in range(folds):
            train, test = order != f, order == f
            theta = fit_logistic(features[:, train], y[:, train], lam)
            margin = y[:, test] * xp.einsum("rnk,rk->rn", features[:, test], theta)
            total += float(-xp.logaddexp(0.0, -margin).sum())
        scores.append(total)
    return float(ridges[int(np.argmax(scores))])
