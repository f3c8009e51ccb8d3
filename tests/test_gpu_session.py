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


@pytest.mark.skipif(gpu_available(), reason="checks the run without a GPU")
def test_seed_table_steps_resume_a_carried_database(
        tmp_path, unsimulated_env):
    from mcirl.cli import main
    from tests.sweep.configs import tiny_sweep

    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    carried = tmp_path / "carried.sqlite"
    assert main(["sweep", str(config), "--db", str(carried), "--quiet"]) == 0
    before = carried.read_bytes()
    out = tmp_path / "out"
    env = dict(unsimulated_env, OUT=str(out), PYTHON=sys.executable, SEED_TABLE_DB=str(carried),
               STEPS="seed-table seed-table-report")
    run = subprocess.run(["bash", "benchmarks/gpu_session.sh", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    # No GPU: the sweep stops at once with the one-line error; the report of what the carried
    # database holds is still written, and the carried file itself is left as it was.
    assert run.returncode == 1, run.stdout
    assert "== seed-table:" in run.stdout and "--backend gpu" in run.stdout
    assert "mcirl[gpu]" in (out / "seed-table.log").read_text()
    assert (out / "seed-table-report.md").exists()
    assert "resume-test" in (out / "seed-table-report.md").read_text()
    assert carried.read_bytes() == before
    assert {p.name for p in out.glob("*.log")} == {"seed-table.log", "seed-table-report.log"}


def test_the_default_steps_leave_out_the_seed_table(tmp_path, unsimulated_env):
    env = dict(unsimulated_env, OUT=str(tmp_path), PYTHON=sys.executable, BUDGET="1")
    env.pop("STEPS", None)
    run = subprocess.run(["bash", "benchmarks/gpu_session.sh", str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    skipped = [line.split()[1].rstrip(":") for line in run.stdout.splitlines()
               if line.endswith("SKIPPED (BUDGET=1 s spent)")]
    assert skipped == ["device", "tests-gpu", "bench-gpu-sampler", "bench-learner",
                       "tests-kernels", "bench-evaluate"], run.stdout
    assert run.returncode == 6
