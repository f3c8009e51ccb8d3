"""mcirl.jit: cached kernels are recompiled when any source of the package changes.

Numba's own cache checks a kernel against its own file only, so a kernel that inlines a helper
from another file kept the helper's old code. These tests edit such a helper (rng.mix64, which
binomial.py's kernels inline through rng.draw) in a temporary copy of the package and run the
kernel in fresh processes, as a user editing the code would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mcirl
from mcirl.jit import source_digest

PROGRAM = ("import numpy as np\n"
           "from mcirl.kernels.binomial import binomial\n"
           "print(binomial(1000, 0.3, np.uint64(0x9E3779B97F4A7C15), 0)[0])\n")
#: The helper's edit: one shift of the SplitMix64 finaliser.
OLD, NEW = "(z ^ (z >> np.uint64(30))) * _M1", "(z ^ (z >> np.uint64(29))) * _M1"


def _copy(root: Path) -> Path:
    shutil.copytree(Path(mcirl.__file__).parent, root / "mcirl",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root / "mcirl"


def _run(root: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(root)
    out = subprocess.run([sys.executable, "-c", PROGRAM], env=env, cwd=root, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def _edit_helper(package: Path) -> None:
    rng = package / "kernels" / "rng.py"
    text = rng.read_text()
    assert OLD in text
    rng.write_text(text.replace(OLD, NEW))


def _cached(package: Path) -> list:
    return sorted(p.name for p in (package / "kernels" / "__pycache__").glob("binomial.*.nbi"))


@pytest.mark.slow
def test_editing_an_inlined_helper_recompiles_the_kernels_that_inline_it(tmp_path):
    package = _copy(tmp_path)
    before = _run(tmp_path)
    assert _cached(package), "the kernel was not cached: the test would prove nothing"
    assert _run(tmp_path) == before  # a cache hit reproduces the result
    _edit_helper(package)
    assert _run(tmp_path) != before


@pytest.mark.slow
def test_numbas_own_stamp_serves_the_stale_kernel(tmp_path):
    """The planted bug: without mcirl's locators (numba's per-file stamp), the same edit leaves
    the result unchanged, so the test above fails on the old code."""
    package = _copy(tmp_path)
    jit = package / "jit.py"
    jit.write_text(jit.read_text().replace("for _cls in reversed(_LOCATORS):",
                                           "for _cls in ():"))
    before = _run(tmp_path)
    _edit_helper(package)
    assert _run(tmp_path) == before


def test_the_digest_covers_every_source_file(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    first = source_digest(package)
    (package / "sub" / "b.py").write_text("y = 3\n")
    source_digest.cache_clear()
    assert source_digest(package) != first
