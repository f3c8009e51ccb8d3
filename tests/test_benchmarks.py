"""The benchmarks' GPU branches, rehearsed at tiny sizes with tests/fake_cupy.py for CuPy and the
CUDA simulator: a session with a device has minutes to run them (benchmarks/gpu_session.sh), so
a slip in code that only a GPU run reaches must show up here first. Speed is not measured."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def benchmarks(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their _common helpers
    yield
    for name in ("_common", "bench_learner", "bench_evaluate", "bench_gpu_sampler",
                 "bench_cpu_sampler", "bench_termination"):
        sys.modules.pop(name, None)


def test_certificate_and_sparse_phi_rows(benchmarks, capsys):
    """The CPU comparisons of issue 28, at tiny sizes: every learner ran, and the certificate
    changed no failure count."""
    import bench_learner

    rows = bench_learner.certificate_rows(4, [0, 1], S=16, cells=[(4, 0.5, (1, 30)), (4, 0.6, (2,))])
    assert {r["learner"] for r in rows} == set(bench_learner.LEARNERS) and len(rows) == 6
    bench_learner.print_certificate(rows)
    out = capsys.readouterr().out
    assert out.count("failure counts identical") == 2 and "DIFFER" not in out
    caps = bench_learner.cap_rows(3, [0], caps=(1, 50), S=16, cells=[(4, 0.5, (1, 30))])
    assert [r["cap"] for r in caps] == [1, 50] and caps[0]["undecided"] >= caps[1]["undecided"]
    row = bench_learner.sparse_phi_row(S=16, k=8, R=2, iterations=2)
    assert row["seconds_sparse"] > 0 and row["seconds_dense"] > 0


@pytest.mark.slow
def test_lean_rows_run_both_trees(benchmarks, capsys):
    """bench_learner --lean at a tiny size, this tree standing in for the baseline (its "on"
    then runs both certificates, so only the plumbing is checked here)."""
    import bench_learner

    rows = bench_learner.lean_rows(2, [0], str(BENCHMARKS.parent), S=16, cells=[(4, 0.5, (1, 30))])
    assert [r["variant"] for r in rows] == ["before", "now"]
    assert all(r["seconds_per_row_iteration"] > 0 for r in rows)
    bench_learner.print_lean(rows)
    assert "ms per row-iteration before" in capsys.readouterr().out


def test_learner_per_iteration_on_the_gpu_backend(benchmarks, fake_cupy):
    import bench_learner

    row = bench_learner.per_iteration_row("gpu", S=8, R=3)
    assert row["S"] == 8 and row["seconds_per_iteration"] > 0


def test_evaluate_calibration_on_the_gpu_backend(benchmarks, fake_cupy):
    import bench_evaluate

    row = bench_evaluate.calibrate("gpu", fake_cupy, S=8, R=2, sweeps=(1, 3))
    assert row["lu_ms_per_row"] > 0 and row["lu_in_sweeps"] != 0


def test_counts_against_walker_on_the_gpu_backend(benchmarks, fake_cupy):
    import bench_gpu_sampler

    row = bench_gpu_sampler.counts_vs_walker(gamma=0.5, H=4, S=6, reps=2, m=10**7, walk_m=3)
    assert row["counts_effective_steps_s"] > 0 and row["walker_steps_s"] > 0


def test_walker_against_the_reference_on_the_gpu_backend(benchmarks, fake_cupy, monkeypatch):
    """The reference (sol.py, CUDA C through CuPy) cannot run here: a stand-in gives 1 step/s."""
    import types

    import bench_gpu_sampler

    monkeypatch.setitem(sys.modules, "sol", types.SimpleNamespace(steps_per_second=lambda S, H, g: 1.0))
    row = bench_gpu_sampler.walker(S=4, H=1000, gamma=0.5, n=2)  # H = 1000: the tuning rows too
    assert row["ratio"] == row["mcirl_steps_s"] > 0
    assert set(row["ratio_by_threads"]) == set(bench_gpu_sampler.TUNING_THREADS)


def test_termination_models_row(benchmarks):
    """The exact model's benchmark at a tiny size: both models ran on the same draws, and the
    exact deviation is not below the cone's lower bound."""
    import bench_termination
    from mcirl.mdp import FamilySpec

    row = bench_termination.row("tiny", FamilySpec(S=20, A=3, b=2, k=4, features="dense",
                                                   gamma=0.8, seed=1), 0.2, 5)
    assert row["cone_s"] > 0 and row["exact_s"] > 0 and row["deviation_ratio"] >= 1 - 4e-3
    assert 0 <= row["exact_larger"] <= 1
