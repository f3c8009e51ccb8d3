import json

import pytest

from mcirl.cli import main
from mcirl.stats import clopper_pearson_lower, detectable_rate
from mcirl.verify.search import VerifyConfig, search
from mcirl.verify.strategies import Ranges

SMALL = ["--S", "4", "10", "--k", "1", "3", "--gamma", "0.5", "0.8", "--eps", "0.5", "1"]


@pytest.mark.slow
@pytest.mark.parametrize("lengths", ["truncated", "geometric"])
def test_planted_too_small_bound_is_found_and_reproduced(capsys, tmp_path, lengths):
    code = main(["verify", "1", *SMALL, "--examples", "8", "--reps", "40", "--max-iter", "50",
                 "--lengths", lengths, "--out", str(tmp_path), "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 1
    found = result["counterexample"]
    assert found["violated"] and found["m"] == 1 and found["lower_bound"] > found["delta"]
    # the reproducer really reproduces: the same failures at the same m
    argv = result["reproducer"]["argv"][1:] + ["--json"]
    assert argv[argv.index("--lengths") + 1] == lengths
    assert main(argv) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["lengths"] == lengths
    assert (row["m"], row["failures"], row["reps"]) == (found["m"], found["failures"], found["reps"])
    assert clopper_pearson_lower(row["failures"], row["reps"], result["confidence"]) > found["delta"]
    # shrinking: a smallest-cell counterexample (the ranges' lower ends are tried first)
    assert found["S"] <= 6 and found["k"] <= 3


@pytest.mark.statistical
def test_abbeel_ng_is_not_flagged_on_small_cells(tmp_path):
    config = VerifyConfig(bound="abbeel-ng", ranges=Ranges(S=(4, 10), k=(1, 3), gamma=(0.5, 0.8),
                                                          eps=(0.5, 1.0)), examples=6, reps=100)
    result = search(config, tmp_path)
    assert result.violation is None and len(result.examples) == 6
    assert all(e.m >= 1 and e.failures <= e.reps for e in result.examples)
    assert result.detectable_rate == pytest.approx(detectable_rate(100, 0.05, config.confidence))
    assert not list(tmp_path.iterdir())  # nothing written without a counterexample


def test_detectable_rate_has_the_stated_power():
    from scipy import stats

    p = detectable_rate(200, 0.05, 1 - 1e-4)
    x = next(x for x in range(201) if clopper_pearson_lower(x, 200, 1 - 1e-4) > 0.05)
    assert stats.binom.sf(x - 1, 200, p) == pytest.approx(0.9, abs=1e-6)
    assert 0.05 < p < 1


@pytest.mark.parametrize("argv, needle", [
    (["verify", "1", "--S", "5", "3"], "S (high)"),
    (["verify", "1", "--gamma", "0.5", "1.0"], "gamma (high)"),
    (["verify", "1", "--lengths", "geometric", "--gamma", "0.5", "0.9999999"], "[0.5, 0.999999]"),
    (["verify", "1", "--k", "9", "--S", "4", "6"], "k"),
    (["verify", "1", "--examples", "0"], "examples"),
    (["verify", "1", "--S", "1", "2", "3"], "--S"),
])
def test_bad_ranges(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err


def test_the_predicted_bound_is_tested_at_each_mdps_predicted_mstar(tmp_path):
    """'predicted' runs every cell at ceil of mcirl explain's predicted m* for the criterion on
    that cell's MDP (the same numbers explain prints for it)."""
    import math

    from mcirl.explain import ExplainConfig, explain_mdp
    from mcirl.mdp import make_mdp

    config = VerifyConfig(bound="predicted", examples=3, reps=40, criterion="l2",
                          ranges=Ranges(S=(6, 10), k=(2, 3), eps=(0.3, 0.5)))
    result = search(config, tmp_path)
    assert len(result.examples) >= 3
    for e in result.examples:
        expected = explain_mdp(make_mdp(e.cell.family), ExplainConfig(eps=e.cell.eps,
                                                                     delta=e.cell.delta))
        assert e.m == math.ceil(expected.predicted_mstar["l2"])
