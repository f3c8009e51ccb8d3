"""mcirl explain: the ladder on one MDP, the CLT it rests on checked against the samplers (with
a planted error), stored and planned cells, the CLI's keys and its refusals."""

import json

import numpy as np
import pytest

from mcirl import bounds, ladder
from mcirl.cli import main
from mcirl.errors import InputError
from mcirl.explain import ExplainConfig, explain_mdp
from mcirl.mdp import FamilySpec, make_mdp, save_npz
from mcirl.sample import ExpertChain, mu_hat, sample_occupancy, trajectory_law
from mcirl.solve import expert
from mcirl.solve.moments import trajectory_moments
from tests.stats_checks import P_MIN
from tests.sweep.configs import stored_sweep

TINY = ["--S", "12", "--A", "2", "--b", "3", "--k", "3", "--gamma", "0.8", "--mdp-seed", "2"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_mdp_ladder_and_predictions():
    mdp = make_mdp(FamilySpec(S=30, A=3, b=3, k=6, features="dense", gamma=0.9, seed=1))
    result = explain_mdp(mdp, ExplainConfig(draws=5_000))
    assert [s["step"] for s in result.ladder] == list(ladder.STEPS)
    assert result.m_an == pytest.approx(float(bounds.abbeel_ng_trajectories(6, 0.9, 0.1, 0.05)))
    ms = [s["m"] for s in result.ladder]
    assert ms == sorted(ms, reverse=True)  # every relaxation here costs trajectories
    assert result.predicted_without_termination["l2"] == pytest.approx(ms[-1], rel=1e-12)
    assert set(result.predicted_mstar) == {"l2", "theorem", "regret", "termination"}
    assert result.termination_draws == ladder.CONE_DRAWS  # k <= CONE_K_AUTO: modelled
    for c, m in result.predicted_mstar.items():
        lo, hi = result.predicted_interval[c]
        assert lo <= m <= hi
    assert 1 <= result.effective_dimension <= 6 and result.frobenius_dimension <= 6


def test_the_exact_termination_model_only_adds_failures(capsys):
    """Draw for draw the exact deviation is at least the cone's lower bound (same seed, same
    Z: tests/solve/test_reach.py), so no predicted m* can fall. With a config, a bad model
    is refused at construction like every field."""
    mdp = make_mdp(FamilySpec(S=30, A=3, b=3, k=6, features="dense", gamma=0.9, seed=1))
    cone = explain_mdp(mdp, ExplainConfig(eps=0.3, draws=2_000, termination_draws=300))
    exact = explain_mdp(mdp, ExplainConfig(eps=0.3, draws=2_000, termination_draws=300,
                                           termination="exact"))
    assert (cone.termination_model, exact.termination_model) == ("cone", "exact")
    # (to the truncated sums' bias, eps / 1000 off K, which moves the radius by 2 / 1000)
    assert np.all(exact.draws[:300, 3] >= cone.draws[:300, 3] * (1 - 4e-3))
    assert np.array_equal(exact.draws[:, :3], cone.draws[:, :3])
    for c, m in cone.predicted_mstar.items():
        assert exact.predicted_mstar[c] >= m
    assert exact.predicted_mstar["termination"] > cone.predicted_mstar["termination"]
    assert ExplainConfig(termination="exact").model_draws(1000) == ladder.EXACT_DRAWS
    with pytest.raises(InputError, match="termination"):
        ExplainConfig(termination="hull")
    code, out, _ = run(capsys, "explain", *TINY, "--draws", "1000", "--termination", "exact",
                       "--json")
    result = json.loads(out)
    assert code == 0 and result["termination_model"] == "exact"
    assert result["termination_draws"] == ladder.EXACT_DRAWS
    code, _, err = run(capsys, "explain", *TINY, "--termination", "hull")
    assert code == 2 and "--termination: invalid choice" in err and err.count("\n") == 1


@pytest.fixture(scope="module")
def clt_case():
    """A small MDP, its expert's truncated mean and covariance and m3 = (2 q_2 / eps)^2."""
    mdp = make_mdp(FamilySpec(S=16, A=3, b=2, k=4, features="dense", gamma=0.8, seed=5))
    eps, delta = 0.1, 0.05
    H = int(bounds.horizon(mdp.k, mdp.gamma, eps))
    policy = expert(mdp)[0]
    mean, cov = trajectory_moments(mdp, policy, "truncated", H)
    draws = ladder.deviation_draws(cov[0], mdp.w, 200_000, seed=9)
    q_2 = ladder.quantile(draws[:, :3], 1 - delta)[0][0]
    return mdp, policy, H, mean[0], q_2, eps, delta


def failures_at(mdp, policy, H, mean, m, radius, reps=4000):
    chain, decay, steps = trajectory_law(ExpertChain.from_policy(mdp, policy[0]), mdp.gamma, H,
                                         "truncated")
    occ = sample_occupancy(chain, decay, steps, [m], reps, 11, "counts")
    error = np.linalg.norm(mu_hat(occ, mdp.phi, [m])[:, 0] - mean, axis=1)
    return int((error > radius).sum())


@pytest.mark.statistical
def test_the_clt_holds_at_m3_for_the_counts_sampler(clt_case):
    """At m3 the proof's event ||mu_hat_E - mu_E||_2 > eps/2 has probability about delta (the
    binomial test of 4000 replicates against delta, p > 1e-6); planted: at the l2 step's m
    (eps, not eps/2: m3 / 4) the same event is far more likely, and the test sees it."""
    from scipy import stats

    mdp, policy, H, mean, q_2, eps, delta = clt_case
    m3 = int(np.ceil((2 * q_2 / eps) ** 2))
    fails = failures_at(mdp, policy, H, mean, m3, eps / 2)
    assert stats.binomtest(fails, 4000, delta).pvalue > P_MIN, fails
    wrong = failures_at(mdp, policy, H, mean, m3 // 4, eps / 2)
    assert stats.binomtest(wrong, 4000, delta).pvalue < P_MIN, wrong


def test_cli_json_keys_and_table(capsys):
    code, out, _ = run(capsys, "explain", *TINY, "--draws", "2000", "--json")
    assert code == 0
    result = json.loads(out)
    for key in ("m_an", "ladder", "predicted_mstar", "trace_sigma", "effective_dimension"):
        assert key in result
    assert [s["step"] for s in result["ladder"]] == list(ladder.STEPS)
    assert set(result["ladder"][1]) == {"step", "m", "factor"}
    code, out, _ = run(capsys, "explain", *TINY, "--draws", "2000")
    assert code == 0 and "learner's need" in out and "Predicted m*" in out


def test_cli_mdp_file_and_geometric_lengths(capsys, tmp_path):
    path = tmp_path / "m.npz"
    save_npz(make_mdp(FamilySpec(S=12, A=2, b=3, k=3, gamma=0.8, seed=2)), path)
    code, out, _ = run(capsys, "explain", "--mdp", str(path), "--draws", "2000", "--json")
    assert code == 0
    by_file = json.loads(out)
    code, out, _ = run(capsys, "explain", *TINY, "--draws", "2000", "--json")
    assert json.loads(out)["predicted_mstar"] == by_file["predicted_mstar"]
    code, out, _ = run(capsys, "explain", *TINY, "--draws", "2000", "--lengths", "geometric", "--json")
    geometric = json.loads(out)
    assert code == 0 and geometric["horizon"] is None
    assert geometric["trace_sigma"] > by_file["trace_sigma"]  # unbounded lengths spread more


def test_stored_and_planned_cells(capsys, tmp_path):
    db = stored_sweep(tmp_path)
    capsys.readouterr()
    code, out, _ = run(capsys, "explain", "--db", str(db), "--draws", "1000", "--json")
    assert code == 0
    (cell,) = json.loads(out)
    assert len(cell["instances"]) == 2 and cell["measured_mstar"]["theorem"] is not None
    assert cell["ratio"]["theorem"] == pytest.approx(
        cell["predicted_mstar"]["theorem"] / cell["measured_mstar"]["theorem"])
    # the config's own cells: the same MDPs (seeds from the config), so the same prediction
    code, out, _ = run(capsys, "explain", "--config", str(tmp_path / "tiny.toml"), "--db", str(db), "--draws",
                       "1000", "--json")
    (planned,) = json.loads(out)
    assert planned["predicted_mstar"] == cell["predicted_mstar"]
    assert planned["measured_mstar"] == cell["measured_mstar"]
    assert [e["mdp_seed"] for e in planned["instances"]] == [e["mdp_seed"] for e in cell["instances"]]
    code, out, _ = run(capsys, "explain", "--db", str(db), "--draws", "1000")
    assert code == 0 and "predicted / measured" in out


@pytest.mark.parametrize("argv, field", [
    (["--draws", "5"], "draws"),
    (["--eps", "0"], "eps"),
    (["--delta", "1"], "delta"),
    (["--termination-draws", "30000"], "termination_draws"),
    (["--mdp", "x.npz"], "mdp"),
    (["--run", "abc"], "run"),
    (["--db", "missing.sqlite"], "db"),
])
def test_bad_input_is_one_line(capsys, argv, field, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "explain", *TINY, *argv)
    assert code == 2 and err.startswith(f"mcirl: error: --{field.replace('_', '-')}") and err.count("\n") == 1, err


def test_edge_cases_compute_or_say_why(capsys):
    # one feature: the union bound is the joint law
    code, out, _ = run(capsys, "explain", "--S", "12", "--A", "2", "--k", "1", "--gamma", "0.8",
                       "--draws", "2000", "--json")
    assert code == 0 and json.loads(out)["k"] == 1
    # geometric lengths need gamma <= 1 - 1e-6
    code, _, err = run(capsys, "explain", "--S", "12", "--k", "2", "--gamma", "0.9999999",
                       "--lengths", "geometric")
    assert code == 2 and err.startswith("mcirl: error: --gamma")


def test_a_feature_without_variance_and_a_chain_that_never_moves():
    """A constant feature (zero variance: Sigma singular) and a single absorbing state
    (Sigma = 0: one trajectory is exact) compute, with m* = 1 where nothing varies."""
    from mcirl.mdp.validate import checked_mdp

    P = np.ones((1, 2, 1))
    still = checked_mdp(P=P, phi=np.array([[1.0, 0.5]]), w=np.array([0.5, 0.5]), d0=np.ones(1),
                        gamma=0.9)
    result = explain_mdp(still, ExplainConfig(draws=1000))
    assert result.trace_sigma < 1e-12  # E G G^T - mu mu^T with mu ~ 10: rounding only
    assert all(m == 1.0 for m in result.predicted_mstar.values())
    assert all(np.isfinite(s["m"]) and s["m"] >= 0 for s in result.ladder)


@pytest.mark.parametrize("algorithm, modelled", [("projection", True), ("max-margin", True),
                                                 ("mwal", False), ("lpal", False)])
def test_only_the_learners_the_termination_model_describes_get_a_prediction(algorithm, modelled):
    """Issue 51, item 5: explain's termination model is projection's stop (max-margin's too);
    MWAL and LPAL cells get no predicted m* and no ratio ('no termination model' in tables)."""
    from mcirl.explain import explain_instances
    from mcirl.mdp import FamilySpec
    from mcirl.report import prediction_rows
    from mcirl.sweep.plan import Cell

    family = FamilySpec(S=12, k=3, gamma=0.8)
    cell = Cell(family=family, algorithm=algorithm, eps=0.5, delta=0.1)
    measured = {"l2": {"status": "found", "m_star": 100, "m_lo": 50, "m_hi": 200, "cap": 10**6}}
    e = explain_instances(cell, family, [1], ExplainConfig(draws=500), measured=measured)
    assert bool(e.predicted) == modelled
    assert np.isnan(e.ratio("l2")) != modelled
    rows = prediction_rows([e])
    assert all(("no termination model" in row[2]) != modelled for row in rows)
