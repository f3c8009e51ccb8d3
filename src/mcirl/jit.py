"""``njit``: numba's CPU compiler with an on-disk cache that never serves stale kernels.

Numba's cache (``cache=True``) revalidates a compiled function against its own source file
only. A kernel that inlines a function from another file (``binomial._inversion`` calls
``rng.draw``, which calls ``rng.mix64``) kept running the old code after that other file was
edited, until the ``.nbi``/``.nbc`` files were deleted by hand; tests could pass against code
that no longer existed.

Here every kernel of the package is stamped with one digest of *all* of mcirl's Python
sources (and numba's version): any edit anywhere recompiles every cached kernel on its next
use, in an editable install and an installed package alike. The digest is computed once per
process (about a millisecond for the package). The locators subclass numba's own
(``numba.core.caching``: in-tree ``__pycache__``, ``NUMBA_CACHE_DIR``, or the user-wide cache
for a read-only install) and answer only for files inside this package, so other packages'
caching is untouched.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numba as nb
from numba.core import caching

#: The package's source tree: every kernel's stamp covers every file under it.
PACKAGE = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=None)
def source_digest(root: Path = PACKAGE) -> str:
    """sha256 over the relative path and bytes of every ``.py`` file under root, in sorted
    order, and numba's version: the stamp of every cached kernel of the package."""
    digest = hashlib.sha256(nb.__version__.encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class _PackageStamp:
    """Mixin for numba's file-backed locators: stamp with the package digest, and answer only
    for files of this package (the next locator in numba's list takes any other)."""

    def get_source_stamp(self):
        return source_digest()

    @classmethod
    def from_function(cls, py_func, py_file):
        try:
            Path(py_file).resolve().relative_to(PACKAGE)
        except ValueError:
            return None
        return super().from_function(py_func, py_file)


def _numba(name: str):
    """A class of numba.core.caching under its public name (numba >= 0.65) or its older
    underscored one."""
    return getattr(caching, name, None) or getattr(caching, "_" + name)


class _UserProvided(_PackageStamp, _numba("UserProvidedCacheLocator")):
    pass


class _InTree(_PackageStamp, _numba("InTreeCacheLocator")):
    pass


class _UserWide(_PackageStamp, _numba("UserWideCacheLocator")):
    pass


#: Numba's order: NUMBA_CACHE_DIR when set, else __pycache__ beside the file, else the
#: user-wide cache directory (an install the user cannot write). Registered ahead of numba's
#: own, before any kernel of the package is decorated (a locator is chosen at decoration).
_LOCATORS = (_UserProvided, _InTree, _UserWide)
_REGISTRY = _numba("CacheImpl")._locator_classes
for _cls in reversed(_LOCATORS):
    if _cls not in _REGISTRY:
        _REGISTRY.insert(0, _cls)


def njit(*args, **options):
    """``numba.njit`` with ``cache=True`` under the package-wide stamp; used bare (``@njit``)
    or with options (``@njit(parallel=True)``)."""
    options.setdefault("cache", True)
    if args and callable(args[0]):
        return nb.njit(**options)(args[0])
    return nb.njit(*args, **options)
