"""Process-wide settings the package makes at import."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("preset, expected", [(None, "passive"), ("active", "active")])
def test_openmp_threads_sleep_when_idle_unless_the_user_says_otherwise(preset, expected):
    """Numba's OpenMP pool must not spin against NumPy's BLAS threads (see mcirl/__init__.py);
    libgomp reads the variable when it loads, so it is checked in a fresh process."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if preset is not None:
        env["OMP_WAIT_POLICY"] = preset
    code = "import os, mcirl; print(os.environ['OMP_WAIT_POLICY'])"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert run.stdout.strip() == expected
