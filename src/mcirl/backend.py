"""One backend switch: which array module (NumPy or CuPy) the array code runs on.

Math in :mod:`mcirl.solve` and :mod:`mcirl.learn` takes the array module from its inputs
(:func:`array_module`), so the same code runs on NumPy (CPU, and CI) and CuPy (GPU).
"""

from __future__ import annotations

import importlib.util

import numpy as np

from .errors import InputError

BACKENDS = ("cpu", "auto")


def array_module(*arrays):
    """numpy, or cupy when any argument is a CuPy array."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return np


def sparse_module(xp):
    """scipy.sparse for NumPy, cupyx.scipy.sparse for CuPy."""
    if xp is np:
        import scipy.sparse

        return scipy.sparse
    import cupyx.scipy.sparse

    return cupyx.scipy.sparse


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    if importlib.util.find_spec("cupy") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, broken install: all mean "no GPU here"
        return False


def resolve_backend(name: str) -> str:
    """The backend a run uses: 'cpu' for 'cpu'; for 'auto', the best one available."""
    if name not in BACKENDS:
        raise InputError("backend", f"must be one of {', '.join(BACKENDS)}", name)
    # The GPU pipeline is not built yet: 'auto' means the CPU until it is.
    return "cpu"
