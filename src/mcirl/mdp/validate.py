"""Validation of MDP arrays from any source (files, users, families), with one-line errors.

Each check raises :class:`~mcirl.errors.InputError` naming the field (the .npz key) and what is
allowed. Tolerances: probability rows and d0 must sum to 1 within 1e-8; ||w||_1 <= 1 + 1e-9.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError, check_real
from .model import MDP

SUM_TOLERANCE = 1e-8


def _real_array(field: str, value, ndim: int, shape_text: str) -> np.ndarray:
    try:
        a = np.asarray(value)
    except Exception as exc:  # ragged lists and other non-arrays
        raise InputError(field, f"must be a {ndim}-D array {shape_text}", type(value).__name__) from exc
    if a.ndim != ndim:
        raise InputError(field, f"must be a {ndim}-D array {shape_text}", f"shape {a.shape}")
    if a.dtype.kind not in "biuf":
        raise InputError(field, "must hold real numbers", f"dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.isfinite(a).all():
        raise InputError(field, "must be finite (no NaN or inf)")
    return a


def _check_shape(field: str, a: np.ndarray, expected: tuple, shape_text: str) -> None:
    if a.shape != expected:
        raise InputError(field, f"must have shape {shape_text} = {expected}", f"shape {a.shape}")


def _check_distribution(field: str, p: np.ndarray, what: str, given=None) -> None:
    """given: the array as passed, whose dtype the sum error names when it was not float64
    (float32 rows rarely sum to 1 within SUM_TOLERANCE)."""
    if (p < 0).any():
        raise InputError(field, f"{what} must be non-negative", float(p.min()))
    sums = p.sum(axis=-1)
    worst = np.abs(sums - 1.0).max()
    if worst > SUM_TOLERANCE:
        dtype = getattr(given, "dtype", np.dtype(np.float64))
        note = "" if dtype == np.float64 else f" (the array is {dtype}: pass float64)"
        raise InputError(field, f"{what} must sum to 1 within {SUM_TOLERANCE:g}{note}",
                         f"a sum of {float(sums.flat[np.abs(sums - 1.0).argmax()]):.12g}")


def dense_to_rows(P: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, A, S) dense transitions -> fixed-width rows nxt (S, A, B) int64, prob (S, A, B).

    B is the largest number of non-zero successors of any (s, a); shorter rows are padded with
    probability-0 slots.
    """
    nonzero = P > 0
    B = max(int(nonzero.sum(axis=-1).max()), 1)
    # Stable sort puts each row's non-zero successors first, in state order.
    order = np.argsort(~nonzero, axis=-1, kind="stable")[..., :B]
    return order.astype(np.int64), np.take_along_axis(P, order, axis=-1)


def checked_mdp(*, phi, w, d0, gamma, P=None, nxt=None, prob=None, reward_basis=None) -> MDP:
    """Validate arrays and build an :class:`MDP`.

    Give either ``P``: (S, A, S) dense transitions, or ``nxt``: (S, A, B) integer successors
    with ``prob``: (S, A, B) probabilities (the .npz keys ``next`` and ``prob``). Optionally
    ``reward_basis``: (k, r) orthonormal columns whose span holds w (a reward bottleneck).
    """
    gamma_arr = np.asarray(gamma)
    if gamma_arr.size != 1 or gamma_arr.dtype.kind not in "fiu":  # not a string or a bool
        raise InputError("gamma", "must be a real scalar in [0, 1)",
                         f"shape {gamma_arr.shape}, dtype {gamma_arr.dtype}")
    gamma = check_real("gamma", gamma_arr.reshape(()).item(), 0.0, 1.0, high_open=True)

    if P is not None:
        given_P, P = P, _real_array("P", P, 3, "(S, A, S)")
        S, A, S2 = P.shape
        if S < 1 or A < 1 or S2 != S:
            raise InputError("P", "must have shape (S, A, S) with S, A >= 1", f"shape {P.shape}")
        _check_distribution("P", P, "each row P[s, a, :]", given_P)
        nxt, prob = dense_to_rows(P)
    else:
        if nxt is None or prob is None:
            raise InputError("P", "give P (S, A, S), or next and prob (S, A, B)")
        nxt_raw = np.asarray(nxt)
        if nxt_raw.ndim != 3 or nxt_raw.dtype.kind not in "iu":
            raise InputError("next", "must be a 3-D integer array (S, A, B)",
                             f"shape {nxt_raw.shape}, dtype {nxt_raw.dtype}")
        S, A, B = nxt_raw.shape
        if S < 1 or A < 1 or B < 1:
            raise InputError("next", "must have shape (S, A, B) with S, A, B >= 1", f"shape {nxt_raw.shape}")
        if nxt_raw.min() < 0 or nxt_raw.max() >= S:
            raise InputError("next", f"successor states must lie in [0, {S - 1}]",
                             f"range [{nxt_raw.min()}, {nxt_raw.max()}]")
        given_prob, prob = prob, _real_array("prob", prob, 3, "(S, A, B)")
        _check_shape("prob", prob, nxt_raw.shape, "(S, A, B)")
        _check_distribution("prob", prob, "each row prob[s, a, :]", given_prob)
        nxt = nxt_raw.astype(np.int64)

    phi = _real_array("phi", phi, 2, "(S, k)")
    if phi.shape[0] != S or phi.shape[1] < 1:
        raise InputError("phi", f"must have shape (S, k) = ({S}, k) with k >= 1", f"shape {phi.shape}")
    if phi.min() < 0 or phi.max() > 1:
        raise InputError("phi", "features must lie in [0, 1]",
                         f"range [{phi.min():.6g}, {phi.max():.6g}]")
    k = phi.shape[1]
    w = _real_array("w", w, 1, "(k,)")
    _check_shape("w", w, (k,), "(k,)")
    if np.abs(w).sum() > 1 + 1e-9:
        raise InputError("w", "must have ||w||_1 <= 1", f"||w||_1 = {np.abs(w).sum():.6g}")
    given_d0, d0 = d0, _real_array("d0", d0, 1, "(S,)")
    _check_shape("d0", d0, (S,), "(S,)")
    _check_distribution("d0", d0, "d0", given_d0)
    if reward_basis is not None:
        reward_basis = _check_basis(reward_basis, w)
    return MDP(nxt=nxt, prob=prob, phi=phi, w=w, d0=d0, gamma=gamma, reward_basis=reward_basis)


#: How far from orthonormal a reward basis, and from its span w, may be (rounding of a QR).
BASIS_TOLERANCE = 1e-8


def _check_basis(basis, w: np.ndarray) -> np.ndarray:
    """A (k, r) reward basis: 1 <= r <= k, orthonormal columns, w in their span."""
    k = w.shape[0]
    basis = _real_array("reward_basis", basis, 2, "(k, r)")
    if basis.shape[0] != k or not 1 <= basis.shape[1] <= k:
        raise InputError("reward_basis", f"must have shape (k, r) = ({k}, r) with 1 <= r <= k",
                         f"shape {basis.shape}")
    gram = np.abs(basis.T @ basis - np.eye(basis.shape[1])).max()
    if gram > BASIS_TOLERANCE:
        raise InputError("reward_basis", f"must have orthonormal columns within {BASIS_TOLERANCE:g}",
                         f"|B^T B - I| up to {gram:.3g}")
    off = np.abs(w - basis @ (basis.T @ w)).max()
    if off > BASIS_TOLERANCE:
        raise InputError("reward_basis", f"must span w (w = B B^T w within {BASIS_TOLERANCE:g})",
                         f"|w - B B^T w| up to {off:.3g}")
    return basis


def require_mdp(obj, field: str = "mdp"):
    """``obj`` itself if it is an :class:`MDP` (of either array module); the public entry points
    (estimate, learn, explain) call this first, so a wrong argument is one line, not a traceback
    from deep inside a solver."""
    if not isinstance(obj, MDP):
        raise InputError(field, "must be an mcirl MDP (mcirl.make_mdp, mcirl.load_mdp or "
                         "mcirl.mdp_from_arrays)", type(obj).__name__)
    return obj


def require_rows(field: str, rows, k: int):
    """``rows`` as an (N, k) array of finite floats (kept on its array module)."""
    shape = getattr(rows, "shape", None)
    if shape is None or len(shape) != 2 or shape[1] != k or shape[0] < 1:
        raise InputError(field, f"must be an (N, k) array with N >= 1 and k = {k}",
                         f"shape {shape}" if shape is not None else type(rows).__name__)
    if rows.dtype.kind not in "fiu":
        raise InputError(field, "must hold real numbers", f"dtype {rows.dtype}")
    if not bool((abs(rows) < float("inf")).all()):  # NaN compares false too
        raise InputError(field, "must hold finite numbers (no NaN or infinity)")
    return rows
