import json

import pytest

from mcirl.cli import main
from mcirl.reproduce import configs
from mcirl.sweep.plan import cells


def test_study_configs_are_valid():
    seed = configs("seed-table", quick=False)
    assert [c.name for c in seed] == ["seed-table", "k-sweep"]
    grid = {(c.k, c.gamma) for c in cells(seed[0])}
    assert grid == {(10, 0.9), (10, 0.99), (1000, 0.9), (1000, 0.99)}
    assert all(c.family.S >= c.k for c in cells(seed[0]))
    assert seed[0].cells.eps == 0.1 and seed[0].cells.delta == 0.05
    assert list(seed[1].cells.k) == [2, 5, 10, 20, 50, 100, 200, 500, 1000]
    (grid_full,) = configs("gridworld", quick=False)
    (cell,) = cells(grid_full)
    assert (cell.family.S, cell.k, cell.family.p_fail, grid_full.instances.count) == (16384, 64, 0.3, 20)
    assert configs("gridworld", quick=True)[0].instances.count >= 2


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
