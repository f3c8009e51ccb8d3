import json
from pathlib import Path

import pytest

from mcirl.cli import main
from mcirl.reproduce import configs
from mcirl.sweep.config import load_config
from mcirl.sweep.plan import cells, grid_for, iter_tasks

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_study_configs_are_valid():
    seed = configs("seed-table", quick=False)
    assert [c.name for c in seed] == ["seed-table", "k-sweep"]
    grid = {(c.k, c.gamma) for c in cells(seed[0])}
    assert grid == {(10, 0.9), (10, 0.99), (1000, 0.9), (1000, 0.99)}
    assert all(c.family.S >= c.k for c in cells(seed[0]))
    assert seed[0].cells.eps == (0.1,) and seed[0].cells.delta == (0.05,)
    assert list(seed[1].cells.k) == [2, 5, 10, 20, 50, 100, 200, 500, 1000]
    (grid_full,) = configs("gridworld", quick=False)
    (cell,) = cells(grid_full)
    assert (cell.family.S, cell.k, cell.family.p_fail, grid_full.instances.count) == (16384, 64, 0.3, 20)
    assert configs("gridworld", quick=True)[0].instances.count >= 2


def grid_keys(config) -> set:
    return {t.key for cell in cells(config) for t in iter_tasks(config, cell, grid_for(config, cell))}


def test_the_full_study_is_the_measured_one():
    """`reproduce seed-table` drew S = 64 Garnets at k = 10 and a 4 x 200 k sweep, none of which
    was ever measured: it must run the example configs whose stores are in results/, task for
    task, so that it resumes from them."""
    table, sweep = configs("seed-table", quick=False)
    onehot = load_config(EXAMPLES / "seed-table.toml")
    dense = [load_config(f) for f in sorted(EXAMPLES.glob("seed-table-dense-*.toml"))]
    assert len(dense) == 4  # one file per dense cell, run (and resumed) one at a time
    assert set().union(grid_keys(onehot), *map(grid_keys, dense)) == grid_keys(table)
    assert {c.family.features for c in cells(table)} == {"onehot", "dense"}
    assert {c.family.S for c in cells(table)} == {1024}
    measured_sweep = load_config(EXAMPLES / "k-sweep-onehot.toml")
    assert grid_keys(sweep) == grid_keys(measured_sweep)
    assert sweep.search == measured_sweep.search


@pytest.mark.slow
def test_quick_seed_table_end_to_end(capsys, tmp_path):
    db, out = tmp_path / "r.sqlite", tmp_path / "out"
    assert main(["reproduce", "seed-table", "--quick", "--db", str(db), "--out", str(out),
                 "--quiet", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["runs"]) == 2 and result["cells"] == 12  # 8 + 6, two shared cells stored once
    assert (out / "report.md").exists() and (out / "report.html").exists()
    assert {p.stem for p in (out / "figures").iterdir()} >= {"mstar_vs_k", "failure_rates",
                                                             "looseness", "seed_table"}
    assert {r["status"] for r in result["mstar"]} <= {"found", "below_min", "above_cap"}
    # a second run resumes: nothing is recomputed, the same rows come back
    assert main(["reproduce", "seed-table", "--quick", "--db", str(db), "--out", str(out),
                 "--quiet", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mstar"] == result["mstar"]


def test_dry_run_plans_every_sweep_and_writes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["reproduce", "seed-table", "--quick", "--dry-run", "--no-calibrate", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in plan["plans"]] == ["seed-table-quick", "k-sweep-quick"]
    assert plan["estimated_seconds_at_most"] is None  # not calibrated: no estimate claimed
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def slow_estimate(monkeypatch):
    """Every sweep's calibrated plan says one hour of grid: the full study is two at least."""
    from mcirl.sweep import runner

    def plan(config, calibrate=True, limits=None):
        return {**real(config, calibrate=False), "estimated_seconds_grid": 3600.0,
                "estimated_seconds_bisect_at_most": 600.0, "calibration_cells": 1,
                "calibration_reps": 4, "calibration_seconds": 1.0, "estimated_peak_bytes_per_task": 1e8}

    real = runner.dry_run
    monkeypatch.setattr(runner, "dry_run", plan)
    ran = []
    monkeypatch.setattr("mcirl.reproduce.reproduce", lambda *a, **k: ran.append(a) or pytest.skip("ran"))
    return ran


def test_a_full_study_estimated_above_an_hour_needs_yes(capsys, tmp_path, monkeypatch, slow_estimate):
    """Issue 32: `reproduce seed-table` without --quick silently started tens of hours of work."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["reproduce", "seed-table", "--db", "r.sqlite"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("mcirl: error: --yes: reproduce seed-table is estimated at up to 2.3 hours")
    assert not slow_estimate and not (tmp_path / "r.sqlite").exists()
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda question: "n")
    assert main(["reproduce", "seed-table", "--db", "r.sqlite"]) == 2 and not slow_estimate
    monkeypatch.setattr("builtins.input", lambda question: "y")
    with pytest.raises(pytest.skip.Exception):  # the stand-in for the run itself
        main(["reproduce", "seed-table", "--db", "r.sqlite"])
    assert len(slow_estimate) == 1


def test_yes_and_quick_start_at_once(tmp_path, monkeypatch, slow_estimate):
    monkeypatch.chdir(tmp_path)
    for argv in (["reproduce", "seed-table", "--yes"], ["reproduce", "gridworld", "--quick"]):
        with pytest.raises(pytest.skip.Exception):
            main(argv)
    assert len(slow_estimate) == 2
