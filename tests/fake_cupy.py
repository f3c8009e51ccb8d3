"""A stand-in for CuPy in CI: NumPy arrays that say they live on a device, and refuse to mix.

The GPU backend's glue (the MDP moved to the device, the samplers' CUDA kernels handing their
output to CuPy, mu_hat and the learner on the device, results fetched back) otherwise runs only
on a machine with a GPU. With this module installed as ``cupy`` (:func:`installed`), that glue
runs here: :func:`mcirl.backend.array_module` sees these arrays as CuPy's, the CUDA kernels run
in numba's simulator, and every NumPy operation works on them as it would on CuPy's arrays.

Strict where CuPy (14.2, checked against its namespace) is: an operation mixing a device array
with a host array (any NumPy array, 0-d included; host scalars are fine) raises TypeError, as
CuPy does, and so does passing a device array to a CPU (njit) kernel; only ``asarray`` and
``ascontiguousarray`` take host data, and ``.get()`` gives it back; a host array assigned into
a device array by indexing raises. Reductions and single elements are 0-d device arrays
(unhashable, no ``__index__``), and what CuPy lacks (:data:`NOT_IN_CUPY`) raises. A device array
that mcirl hands to NumPy's converters (:data:`CONVERTERS`: ``np.asarray(x)``, ``np.array([x])``)
raises, as CuPy's ``__array__`` does (mcirl fetches with ``.get()``:
:func:`mcirl.learn.result.to_numpy`); so does one that reaches them through a SciPy routine that
looks them up as ``np.asarray`` when called. Not caught: SciPy routines that bound the converters
to their own names when imported (``scipy.stats``' distributions among them).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import sys
import threading
import types

import numpy as np
import pytest
import scipy.sparse
from numba.core.typing.typeof import typeof_impl


#: What NumPy has and CuPy 14.2 lacks (``dir(numpy)`` less ``dir(cupy)``, NumPy 2.4): the
#: functions, and the ndarray methods. Using one of them on device arrays raises, as in CuPy.
NOT_IN_CUPY = frozenset((
    "asmatrix", "block", "bmat", "busday_count", "busday_offset", "datetime_as_string",
    "datetime_data", "einsum_path", "errstate", "frompyfunc", "fromregex", "geomspace",
    "getbufsize", "geterr", "geterrcall", "histogram_bin_edges", "info", "insert", "is_busday",
    "isnat", "matrix", "matvec", "memmap", "nanpercentile", "nanquantile", "ndenumerate",
    "nditer", "nested_iters", "polyder", "polydiv", "polyint", "recarray", "setbufsize",
    "seterr", "seterrcall", "spacing", "unstack", "vecdot", "vecmat"))
NOT_IN_CUPY_NDARRAY = frozenset(("ctypes", "getfield", "resize", "setfield", "setflags",
                                 "to_device"))
#: NumPy's converters to a host array, which do not dispatch on their argument: on a CuPy array
#: they call its ``__array__``, which raises ("Implicit conversion to a NumPy array is not
#: allowed"). On this module's arrays, a NumPy subclass, they would quietly copy.
CONVERTERS = ("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray",
              "require")


class ndarray(np.ndarray):
    """A 'device' array: a NumPy array of this subclass.

    As in CuPy, reductions and single elements are 0-d device arrays (not host scalars: they
    cannot be mixed with host arrays, hashed, or used as a Python index)."""

    __numba_array_subtype_dispatch__ = True  # numba asks typeof_impl (below), not its fast path
    __hash__ = None

    def get(self):
        return np.array(self.view(np.ndarray))

    def __getattribute__(self, name):
        if name in NOT_IN_CUPY_NDARRAY:
            raise AttributeError(f"fake cupy: cupy.ndarray has no attribute {name!r}")
        return super().__getattribute__(name)

    def __index__(self):
        raise TypeError("fake cupy: a device array is not a Python index (cupy.ndarray has no "
                        "__index__); use int()")

    def __getitem__(self, key):
        item = super().__getitem__(_host(key))
        return item if _in_simulated_kernel() else _device(item)

    def __setitem__(self, key, value):
        if _is_host_array(value) and value.shape != ():
            # CuPy: "non-scalar numpy.ndarray cannot be used for fill" (its setitem fills
            # from scalars or device arrays only)
            raise ValueError("fake cupy: a host (NumPy) array assigned into a device array")
        super().__setitem__(_host(key), _host(value))

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        _refuse_host(inputs, kwargs.get("out", ()))
        result = getattr(ufunc, method)(*_host(inputs), **_host(kwargs))
        return None if method == "at" else _device(result)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ in NOT_IN_CUPY:
            raise TypeError(f"fake cupy: CuPy has no {func.__name__}")
        _refuse_host(args, kwargs)
        return _device(func(*_host(args), **_host(kwargs)))


ndarray.__module__ = "cupy"  # what mcirl.backend.array_module looks at


@typeof_impl.register(ndarray)
def _typeof_device_array(val, c):
    # Numba's CPU kernels cannot read CuPy's memory, and refuse its arrays: so must these.
    raise TypeError("fake cupy: a device array passed to a CPU (njit) kernel")


def _in_simulated_kernel() -> bool:
    """True in a thread of numba's CUDA simulator, where an element read from device memory is
    a number. (Looked up, not imported: a process on a real GPU never loads the simulator.)"""
    kernel = sys.modules.get("numba.cuda.simulator.kernel")
    return kernel is not None and isinstance(threading.current_thread(), kernel.BlockThread)


def _leaves(obj):
    if isinstance(obj, (tuple, list)):
        for x in obj:
            yield from _leaves(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from _leaves(x)
    else:
        yield obj


def _is_host_array(x) -> bool:
    return isinstance(x, np.ndarray) and not isinstance(x, ndarray)


def _refuse_host(*objs):
    for x in _leaves(objs):
        if _is_host_array(x):  # 0-d too, as in CuPy
            raise TypeError(f"fake cupy: a host (NumPy) array of shape {x.shape} mixed with "
                            "device arrays; CuPy refuses this")


def _host(obj):
    """obj with every device array viewed as a plain NumPy array (for NumPy to compute on)."""
    if isinstance(obj, ndarray):
        return obj.view(np.ndarray)
    if isinstance(obj, tuple):
        return tuple(_host(x) for x in obj)
    if isinstance(obj, list):
        return [_host(x) for x in obj]
    if isinstance(obj, dict):
        return {k: _host(v) for k, v in obj.items()}
    return obj


def _device(obj):
    if isinstance(obj, np.ndarray):
        return obj.view(ndarray)
    if isinstance(obj, (np.number, np.bool_)):  # CuPy's results stay on the device, 0-d
        return np.asarray(obj).view(ndarray)
    if isinstance(obj, tuple):
        return tuple(_device(x) for x in obj)
    if isinstance(obj, list):
        return [_device(x) for x in obj]
    return obj


def asarray(a, dtype=None):
    """Host data, a device array (itself when no conversion is needed, as in CuPy), or a CUDA
    array (numba's, e.g. a kernel's output), as a device array."""
    if hasattr(a, "copy_to_host"):
        a = a.copy_to_host()
    if isinstance(a, ndarray) and (dtype is None or a.dtype == dtype):
        return a
    return np.array(_host(a), dtype=dtype).view(ndarray)


def ascontiguousarray(a, dtype=None):
    return np.ascontiguousarray(_host(asarray(a)), dtype=dtype).view(ndarray)


def _strict_converter(convert):
    """convert (a NumPy converter), refusing device arrays that mcirl hands it.

    Only mcirl's: numba's CUDA simulator and this module convert device arrays to run kernels
    and compute, which real CuPy does through device memory instead. The caller is the first
    frame outside NumPy and SciPy (see the module docstring)."""

    def call(*args, **kwargs):
        data = args[0] if args else kwargs.get("a", kwargs.get("object"))
        if any(isinstance(x, ndarray) for x in _leaves(data)) and _caller_package() == "mcirl":
            raise TypeError(f"fake cupy: numpy.{convert.__name__} of a device array (CuPy: "
                            "implicit conversion to a NumPy array is not allowed; use .get())")
        return convert(*args, **kwargs)

    return call


def _caller_package() -> str:
    """The top-level package of the first frame outside NumPy and SciPy calling a converter."""
    frame = sys._getframe(2)
    while frame is not None:
        package = frame.f_globals.get("__name__", "").split(".")[0]
        if package not in ("numpy", "scipy"):
            return package
        frame = frame.f_back
    return ""


def _on_device(func):
    """func, refusing host arrays and returning device arrays."""
    if isinstance(func, np.ufunc):  # its calls and methods go through ndarray.__array_ufunc__
        return func

    def call(*args, **kwargs):
        _refuse_host(args, kwargs)
        return _device(func(*_host(args), **_host(kwargs)))

    return call


def _function(name):
    """cupy.<name>: numpy.<name> on device arrays."""
    if name in NOT_IN_CUPY:
        raise AttributeError(f"fake cupy: module 'cupy' has no attribute {name!r}")
    return _on_device(getattr(np, name))


class _Sparse:
    """A cupyx.scipy.sparse matrix, as far as mcirl uses one: convert, densify, multiply."""

    def __init__(self, matrix):
        self.matrix = matrix
        self.shape = matrix.shape

    def tocsr(self):
        return _Sparse(self.matrix.tocsr())

    def toarray(self):
        return _device(self.matrix.toarray())

    def __matmul__(self, other):
        _refuse_host(other)
        return _device(self.matrix @ _host(other))


def _coo_matrix(arg, shape=None):
    _refuse_host(arg)
    return _Sparse(scipy.sparse.coo_matrix(_host(arg), shape=shape))


def _module(name, **attrs):
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__dict__.update(attrs)
    return module


def _build():
    # cupy.cuda.runtime's names and keys (driverGetVersion: CUDA 13.0 as 13000)
    runtime = types.SimpleNamespace(getDeviceCount=lambda: 1, deviceSynchronize=lambda: None,
                                    driverGetVersion=lambda: 13000,
                                    getDeviceProperties=lambda i: {"name": b"fake_cupy",
                                                                   "totalGlobalMem": 2 ** 30})
    linalg = types.SimpleNamespace(solve=_on_device(np.linalg.solve), inv=_on_device(np.linalg.inv))
    cupy = _module("cupy", ndarray=ndarray, asarray=asarray, ascontiguousarray=ascontiguousarray,
                   cuda=types.SimpleNamespace(runtime=runtime), linalg=linalg,
                   float64=np.float64, int64=np.int64, int8=np.int8, bool_=np.bool_, nan=np.nan,
                   inf=np.inf,
                   newaxis=None)
    cupy.__getattr__ = _function
    sparse = _module("cupyx.scipy.sparse", coo_matrix=_coo_matrix)
    scipy_ = _module("cupyx.scipy", sparse=sparse)
    cupyx = _module("cupyx", scipy=scipy_)
    return {"cupy": cupy, "cupyx": cupyx, "cupyx.scipy": scipy_, "cupyx.scipy.sparse": sparse}


def assert_same_rows(actual, expected, skip=()):
    """Result rows (lists of dicts) of a GPU-glue run equal the CPU run's: floats to rounding
    (the device path's solves and sums may round differently), all else exactly; ``skip``
    names keys that legitimately differ (run ids, content hashes)."""
    assert len(actual) == len(expected) > 0
    for a, e in zip(actual, expected):
        assert a.keys() == e.keys()
        for key, value in e.items():
            if key not in skip:
                close = pytest.approx(value, rel=1e-9, nan_ok=True) if isinstance(value, float) else value
                assert a[key] == close, key


_ABSENT = object()  # not in sys.modules (None there means "import fails": tests/conftest.py)


@contextlib.contextmanager
def installed():
    """``import cupy`` gives this module (and ``cupyx.scipy.sparse`` its sparse matrices)
    inside the block; whatever was there before comes back after it."""
    modules = _build()
    saved = {name: sys.modules.get(name, _ABSENT) for name in modules}
    sys.modules.update(modules)
    converters = {name: getattr(np, name) for name in CONVERTERS}
    for name, convert in converters.items():
        setattr(np, name, _strict_converter(convert))
    try:
        yield modules["cupy"]
    finally:
        for name, convert in converters.items():
            setattr(np, name, convert)
        for name, module in saved.items():
            if module is _ABSENT:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
