"""One backend switch: where a run computes (``cpu``, ``gpu``, or ``auto``) and which array
module (NumPy or CuPy) the array code runs on.

Math in :mod:`mcirl.solve` and :mod:`mcirl.learn` takes the array module from its inputs
(:func:`array_module`), so the same code runs on NumPy (CPU, and CI) and CuPy (GPU).
"""

from __future__ import annotations

import contextlib
import importlib.util

import numpy as np

from .errors import InputError, check_choice

BACKENDS = ("cpu", "gpu", "auto")
GPU_HINT = "pip install 'mcirl[gpu]' (numba-cuda and CuPy) on a machine with an NVIDIA GPU and driver"


def array_module(*arrays):
    """numpy, or cupy when any argument is a CuPy array."""
    for a in arrays:
        if type(a).__module__.startswith("cupy"):
            import cupy

            return cupy
    return np


def to_numpy(a):
    """A host (NumPy) copy of a NumPy or CuPy array (CuPy refuses np.asarray: ``.get()``)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


def sparse_module(xp):
    """scipy.sparse for NumPy, cupyx.scipy.sparse for CuPy."""
    if xp is np:
        import scipy.sparse

        return scipy.sparse
    import cupyx.scipy.sparse

    return cupyx.scipy.sparse


def single_threaded_blas():
    """A context in which the host's BLAS (OpenBLAS, MKL) runs on one thread.

    For the learner on the CPU: it alternates small products (rows x S x k) with Numba's
    parallel kernels, and BLAS threads, which gain nothing on products that small, spin after
    each one and take the cores Numba's threads need (the learner ran 1.3x faster without them
    on the 2-core development VM; benchmarks/README.md). threadpoolctl is a dependency; where it
    is missing (mcirl run from src/ on a bare machine, as benchmarks/gpu_session.sh does) this
    does nothing, which is only slower.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def gpu_missing() -> str | None:
    """What is missing for the GPU backend (None when CuPy sees a CUDA device)."""
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed"
    if importlib.util.find_spec("numba_cuda") is None:
        return "numba-cuda is not installed"
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return None
        return "no CUDA device is visible"
    except Exception as exc:  # no driver, no device, broken install: all mean "no GPU here"
        return f"CuPy cannot reach a CUDA device ({exc.__class__.__name__})"


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return gpu_missing() is None


def backend_module(name: str):
    """The array module a backend's arrays live on: numpy for the CPU, cupy for the GPU.

    ``name``: 'cpu', 'gpu' or 'auto', resolved (and checked) by :func:`resolve_backend`."""
    if resolve_backend(name) == "cpu":
        return np
    import cupy

    return cupy


def resolve_backend(name: str) -> str:
    """The backend a run uses: 'cpu', 'gpu' (or a one-line error naming what is missing), and
    for 'auto' the GPU when CuPy and a CUDA device are present, else the CPU."""
    check_choice("backend", name, BACKENDS)
    if name == "cpu":
        return "cpu"
    missing = gpu_missing()
    if name == "gpu" and missing is not None:
        raise InputError("backend", f"gpu needs a CUDA GPU: {missing}; {GPU_HINT}")
    return "gpu" if missing is None else "cpu"
