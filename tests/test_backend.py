import pytest

from mcirl import backend
from mcirl.cli import main
from mcirl.errors import InputError


def test_cpu_and_auto_without_a_gpu(monkeypatch):
    monkeypatch.setattr(backend, "gpu_missing", lambda: "CuPy is not installed")
    assert backend.resolve_backend("cpu") == "cpu"
    assert backend.resolve_backend("auto") == "cpu"
    with pytest.raises(InputError) as info:
        backend.resolve_backend("gpu")
    assert "CuPy is not installed" in str(info.value) and "mcirl[gpu]" in str(info.value)
    with pytest.raises(InputError):
        backend.resolve_backend("tpu")


def test_auto_picks_the_gpu_when_present(monkeypatch):
    monkeypatch.setattr(backend, "gpu_missing", lambda: None)
    assert backend.resolve_backend("auto") == "gpu" == backend.resolve_backend("gpu")


def test_gpu_request_without_gpu_is_one_line(capsys, monkeypatch):
    monkeypatch.setattr(backend, "gpu_missing", lambda: "no CUDA device is visible")
    assert main(["estimate", "--backend", "gpu", "--m", "4"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no CUDA device is visible" in err


@pytest.mark.skipif(backend.gpu_available(), reason="checks the run without a GPU")
def test_a_suite_that_requires_the_gpu_stops_without_one(unsimulated_env):
    """MCIRL_REQUIRE_GPU (benchmarks/gpu_session.sh) must not quietly simulate or skip."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(unsimulated_env, MCIRL_REQUIRE_GPU="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "tests/test_stats.py"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 3, run.stdout[-2000:]
    assert "no usable GPU" in run.stdout + run.stderr
