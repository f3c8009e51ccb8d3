"""benchmarks/gpu_session.sh, the one command a session with a GPU runs, must not report success
where it could not reach a GPU (it would leave the GPU backend looking measured)."""

import subprocess
import sys
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
