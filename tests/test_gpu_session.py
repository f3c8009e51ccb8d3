"""benchmarks/gpu_session.sh, the one command a session with a GPU runs, must not report success
where it could not reach a GPU (it would leave the GPU backend looking measured)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcirl.backend import gpu_available

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(gpu_available(), reason="checks the run without a GPU")
def test_gpu_session_fails_every_step_without_a_gpu(tmp_path, unsimulated_env):
    env = dict(unsimulated_env, OUT=str(tmp_path), PYTHON=sys.executable,
               STEPS="device tests-gpu bench-gpu-sampler")
    run = subprocess.run(["bash", "benchmarks/gpu_session.sh", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 3, run.stdout
    assert run.stdout.count("FAILED") == 3
    assert {p.name for p in tmp_path.glob("*.log")} == {
        "device.log", "tests-gpu.log", "bench-gpu-sampler.log"}


@pytest.mark.skipif(gpu_available(), reason="checks the run without a GPU")
def test_budget_cuts_the_running_step_and_skips_the_rest(tmp_path, unsimulated_env):
    slow = tmp_path / "slow-python"  # stands in for python: every step it runs takes 60 s
    slow.write_text("#!/bin/sh\nsleep 60\n")
    slow.chmod(0o755)
    env = dict(unsimulated_env, OUT=str(tmp_path), PYTHON=str(slow), BUDGET="15",
               STEPS="device tests-gpu bench-gpu-sampler bench-learner")
    t0 = time.monotonic()
    run = subprocess.run(["bash", "benchmarks/gpu_session.sh", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert time.monotonic() - t0 < 40, run.stdout
    assert run.returncode == 4, run.stdout
    assert run.stdout.count("FAILED") == 2 and run.stdout.count("SKIPPED") == 2, run.stdout
    assert "== tests-gpu:" in run.stdout and "== bench-learner: SKIPPED" in run.stdout
