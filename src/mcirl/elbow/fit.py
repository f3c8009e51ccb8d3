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

import numpy as np

from ..backend import array_module

#: On separable comparisons Newton's steps raise the margins by about 1 each, towards
#: log(|f|^2 N / lam): about 100 at the config's limits (elbow.experiment.RIDGE_MIN,
#: FEATURE_NOISE_MAX); fits that converge stop early.
NEWTON_STEPS = 200
TOLERANCE = 1e-10
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


def fit_logistic(features, y, lam, with_convergence=False):
    """theta: (R, r) maximising the penalised likelihood for features: (R, N, r), y: (R, N)
    in {-1, +1}, lam > 0; with_convergence: (theta, converged) with converged: (R,) bool,
    False for a row whose Newton steps had not settled after NEWTON_STEPS (its theta is the
    last iterate, to be reported as unconverged, never silently used as the optimum).

    The Newton system's ridge is max(lam, DAMPING x mean diagonal of the data term): when lam
    is negligible beside the data (fewer comparisons than dimensions, huge features) the
    Hessian is singular in float64 and the solve fails (NumPy) or returns NaN (CuPy). The floor
    changes only the step, not the fixed point (the gradient keeps lam), and only where lam is
    below it, so ordinary fits are plain Newton's.
    """
    xp = array_module(features)
    R, N, r = features.shape
    theta = xp.zeros((R, r))
    eye = xp.eye(r)
    converged = xp.zeros(R, dtype=bool)
    for _ in range(NEWTON_STEPS):
        margin = y * xp.einsum("rnk,rk->rn", features, theta)
        s = _sigmoid(xp, -margin)  # d/dmargin of -log sigma(margin) is -s
        grad = xp.einsum("rn,rnk->rk", y * s, features) - lam * theta
        curvature = s * (1.0 - s)
        data = xp.einsum("rn,rnk,rnl->rkl", curvature, features, features)
        ridge = xp.maximum(lam, DAMPING * xp.trace(data, axis1=1, axis2=2) / r)
        hess = data + ridge[:, None, None] * eye
        step = xp.linalg.solve(hess, grad[..., None])[..., 0]
        theta = theta + step
        converged = xp.abs(step).max(axis=1) <= TOLERANCE * (1.0 + xp.abs(theta).max(axis=1))
        if bool(converged.all()):
            break
    return (theta, converged) if with_convergence else theta


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
