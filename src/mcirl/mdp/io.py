"""The .npz interchange format (docs/method.md).

Keys: ``P`` (S, A, S) float64 — or, for large sparse MDPs, ``next`` (S, A, B) int64 with
``prob`` (S, A, B) float64 (padding has prob 0) — and ``phi`` (S, k), ``w`` (k,), ``d0`` (S,),
``gamma`` (scalar). Loading validates every field. Files drawn from a family (``mcirl mdp
make``) also hold ``spec``: a 0-d string, the JSON of the family spec that drew them (family,
sizes, features, weights, gamma, seed), which :func:`npz_spec` reads and ``mdp info`` shows;
loading ignores it.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..output import atomic_path
from .model import MDP
from .validate import checked_mdp

#: The arrays an MDP file is read from.
MDP_KEYS = ("P", "next", "prob", "phi", "w", "d0", "gamma", "reward_basis")
#: Files whose dense P would exceed this many entries are written as next/prob rows.
DENSE_LIMIT = 2**22


def load_npz(path: str | os.PathLike) -> MDP:
    """Read and validate an MDP file; every problem is an InputError naming the key."""
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded as data:
                # only the keys an MDP has: another key (a spec, or a stray huge array) is
                # never decompressed
                arrays = {key: data[key] for key in data.files if key in MDP_KEYS}
    except FileNotFoundError:
        raise InputError("mdp", "file not found", str(path)) from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError("mdp", f"cannot read as an .npz archive ({exc.__class__.__name__})",
                         str(path)) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):  # a .npy file: one unnamed array
        raise InputError("mdp", "is a single .npy array, not an .npz archive of the named arrays "
                         "P (or next and prob), phi, w, d0 and gamma", str(path))
    required = ("phi", "w", "d0", "gamma")
    missing = [key for key in required if key not in arrays]
    if "P" not in arrays and not ("next" in arrays and "prob" in arrays):
        missing.append("P (or next and prob)")
    if missing:
        raise InputError("mdp", f"{path} lacks the key(s) {', '.join(missing)}")
    if "P" in arrays and ("next" in arrays or "prob" in arrays):
        # Two transition models in one file: which one was meant cannot be guessed.
        raise InputError("mdp", f"{path} holds both P and next/prob; keep one transition model")
    return checked_mdp(P=arrays.get("P"), nxt=arrays.get("next"), prob=arrays.get("prob"),
                       phi=arrays["phi"], w=arrays["w"], d0=arrays["d0"], gamma=arrays["gamma"],
                       reward_basis=arrays.get("reward_basis"))


def npz_spec(path: str | os.PathLike) -> dict | None:
    """The family spec stored in an MDP file (a dict), or None for a file without one (user
    arrays); a spec that is not a JSON object is an InputError naming ``spec``."""
    with np.load(Path(path), allow_pickle=False) as data:
        if "spec" not in data.files:
            return None
        raw = data["spec"]
    try:
        spec = json.loads(str(raw[()])) if raw.ndim == 0 and raw.dtype.kind == "U" else None
    except ValueError:
        spec = None
    if not isinstance(spec, dict):
        raise InputError("spec", "must be a 0-d string holding a JSON object (the family spec)",
                         f"{raw.dtype} array of shape {raw.shape}")
    return spec


def save_npz(mdp: MDP, path: str | os.PathLike, dense: bool | None = None,
             field: str = "output", spec: dict | None = None) -> Path:
    """Write ``mdp`` atomically (:func:`mcirl.output.atomic_path`; ``field`` names the path in
    errors) as an .npz with the keys :func:`load_npz` reads: ``phi`` (S, k), ``w`` (k,), ``d0``
    (S,), ``gamma`` (0-d) and either ``P`` (S, A, S) or ``next`` (S, A, B) int64 with ``prob``
    (S, A, B), and ``reward_basis`` (k, r) where the reward has a bottleneck.
    dense=None: ``P`` when it is small (at most DENSE_LIMIT entries) and B is close
    to S, else ``next``/``prob`` (``mdp.dense`` gives P back). spec: the family spec that drew
    it (``FamilySpec.relevant()``), stored as JSON under ``spec``."""
    path = Path(path)
    if dense is None:
        dense = mdp.S * mdp.A * mdp.S <= DENSE_LIMIT and 2 * mdp.B > mdp.S
    arrays = dict(phi=mdp.phi, w=mdp.w, d0=mdp.d0, gamma=np.float64(mdp.gamma))
    if mdp.reward_basis is not None:
        arrays["reward_basis"] = mdp.reward_basis
    if dense:
        arrays["P"] = mdp.dense
    else:
        arrays["next"], arrays["prob"] = mdp.nxt, mdp.prob
    if spec is not None:
        arrays["spec"] = np.array(json.dumps(spec, sort_keys=True))
    with atomic_path(path, field) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # a file object: np.savez would append .npz to a name
    return path
