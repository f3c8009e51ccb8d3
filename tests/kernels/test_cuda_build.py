"""The CUDA kernels compile for real GPUs (A100, H100) and fit them: no GPU needed.

The simulator tests (test_cuda.py) check what the kernels compute; this checks what the real
compiler makes of them (see cuda_build.py): it rejects a kernel NVVM cannot lower, and one that
spills to local memory, exceeds the 48 KiB of shared memory a block may have without opting in
(static, plus the walker's dynamic histogram at its largest), or needs more registers at
THREADS per block than an SM has (65536), which could not launch.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcirl.kernels.cuda import SHARED_STATES, THREADS, walk_shared_bytes

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report(unsimulated_env):
    run = subprocess.run([sys.executable, "-m", "tests.kernels.cuda_build"], cwd=ROOT,
                         env=unsimulated_env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout)


def test_every_kernel_builds_for_a100_and_h100(report):
    assert set(report) == {"walk_kernel", "counts_kernel", "values_kernel", "occupancy_kernel"}
    assert all(set(archs) == {"sm_80", "sm_90"} for archs in report.values())


def test_kernels_fit_a_block(report):
    for kernel, archs in report.items():
        for arch, use in archs.items():
            where = f"{kernel} on {arch}: {use}"
            assert use["lmem"] == 0 and use["stack"] == 0, f"spills or local arrays: {where}"
            dynamic = walk_shared_bytes(SHARED_STATES) if kernel == "walk_kernel" else 0
            assert use["smem"] + dynamic <= 48 * 1024, f"shared memory over 48 KiB: {where}"
            assert use["registers"] * THREADS <= 65536, f"{THREADS} threads cannot launch: {where}"
