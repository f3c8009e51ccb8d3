"""Shared fixtures: an rng, small MDPs, the gpu marker's skip rule.

Without a GPU, numba's CUDA simulator runs the CUDA kernels (tests/kernels/test_cuda.py): it
must be switched on before numba is first imported, so this happens here, first.
"""

from __future__ import annotations

import os
import sys

from mcirl.backend import gpu_missing

#: Set (benchmarks/gpu_session.sh does) to stop rather than simulate or skip without a GPU.
REQUIRE_GPU = os.environ.get("MCIRL_REQUIRE_GPU", "") not in ("", "0")
#: What the GPU backend lacks here (None with a GPU), asked once: it probes CuPy and the driver.
GPU_MISSING = gpu_missing()

if GPU_MISSING is not None and not REQUIRE_GPU:
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    # CuPy installed where no GPU answers (mcirl[gpu] on a login node, a driver too old) cannot
    # take the simulator's arrays: the tests run as where CuPy is absent, which is what CI
    # checks (the fake_cupy fixture puts its stand-in in place, test by test).
    sys.modules.update(cupy=None, cupyx=None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mcirl.mdp import FamilySpec, make_mdp  # noqa: E402


def pytest_configure(config):
    if REQUIRE_GPU and GPU_MISSING is not None:
        pytest.exit(f"MCIRL_REQUIRE_GPU is set but there is no usable GPU: {GPU_MISSING}",
                    returncode=3)


def pytest_collection_modifyitems(config, items):
    if GPU_MISSING is None:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device and CuPy")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def unsimulated_env():
    """This process's environment without NUMBA_ENABLE_CUDASIM, for a child process that must
    see numba's real CUDA target (a compiler or a GPU), not the simulator set above."""
    return {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}


@pytest.fixture
def fake_cupy():
    """tests/fake_cupy.py installed as ``cupy`` for the test (with the CUDA simulator, the GPU
    backend's glue runs without a GPU). Skipped where a GPU is: the gpu tests use real CuPy."""
    if GPU_MISSING is None:
        pytest.skip("a GPU is present: the gpu-marked tests run the real CuPy")
    from tests import fake_cupy as module

    with module.installed() as cupy:
        yield cupy


@pytest.fixture
def rng():
    return np.random.default_rng(20261123)


@pytest.fixture(scope="session")
def small_garnet():
    """S=12, A=3, b=3 Garnet, 4 one-hot features, gamma 0.9."""
    return make_mdp(FamilySpec(family="garnet", S=12, A=3, b=3, k=4, gamma=0.9, seed=3))


@pytest.fixture(scope="session")
def dense_garnet():
    """S=10, A=2 Garnet with dense U[0,1] features, gamma 0.8."""
    return make_mdp(FamilySpec(family="garnet", S=10, A=2, b=4, k=3, features="dense",
                               gamma=0.8, seed=5))
