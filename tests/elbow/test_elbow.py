import json

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from mcirl.cli import main
from mcirl.elbow.experiment import (FEATURE_NOISE_MAX, RIDGE_MIN, ElbowConfig, elbow_config,
                                   fit_scalings, run_cell, _instance)
from mcirl.elbow.fit import bayes, fit_logistic, held_out, principal_directions
from mcirl.elbow.knee import bootstrap_knee, kneedle, kneedles
from mcirl.elbow.model import comparisons, make_model
from mcirl.errors import InputError
from mcirl.plots import plot_elbow_curves, plot_elbow_scaling
from tests.fake_cupy import assert_same_rows

GRID = np.unique(np.round(4 * 2 ** (np.arange(20) / 2)).astype(int))


def test_kneedle_finds_a_known_knee():
    for knee in (16, 91, 362):
        y = np.minimum(np.log(GRID), np.log(knee))  # linear in log N, then flat
        assert kneedle(GRID, y) == knee
    assert kneedle(GRID, np.ones(GRID.size)) is None  # no rise, no knee


def plain_kneedle(n, y):
    """Oracle: Kneedle on one curve, as the paper states it."""
    if not y.max() > y.min():
        return np.nan
    x = (np.log(n) - np.log(n[0])) / (np.log(n[-1]) - np.log(n[0]))
    diff = (y - y.min()) / (y.max() - y.min()) - x
    return float(n[np.argmax(diff)]) if diff.max() > 0 else np.nan


def test_batched_kneedle_matches_the_plain_one(rng):
    curves = rng.normal(size=(400, GRID.size)).cumsum(axis=1)  # many without a knee
    curves[::9] = 1.0
    expected = [plain_kneedle(GRID, y) for y in curves]
    np.testing.assert_array_equal(kneedles(GRID, curves), expected)


def test_bootstrap_resamples_replicates_with_replacement(rng):
    curves = rng.random((7, GRID.size)).cumsum(axis=1)
    _, low, high = bootstrap_knee(GRID, curves, draws=50, level=0.5, seed=3)
    picks = np.random.default_rng(3).integers(0, 7, (50, 7))
    knees = [plain_kneedle(GRID, curves[p].mean(axis=0)) for p in picks]
    assert (low, high) == tuple(np.nanquantile(knees, [0.25, 0.75]))


def test_bootstrap_interval_covers_the_knee(rng):
    curves = np.minimum(np.log(GRID), np.log(91))[None] + 0.02 * rng.normal(size=(30, GRID.size))
    knee, low, high = bootstrap_knee(GRID, curves, draws=200)
    assert knee == 91 and low <= 91 <= high


def test_fit_matches_a_direct_optimiser(rng):
    f = rng.normal(size=(2, 60, 3))
    y = np.where(rng.random((2, 60)) < 0.7, 1.0, -1.0)
    theta = fit_logistic(f, y, 0.5)
    for r in range(2):
        def objective(t):
            return np.logaddexp(0, -y[r] * (f[r] @ t)).sum() + 0.25 * t @ t
        np.testing.assert_allclose(theta[r], minimize(objective, np.zeros(3), tol=1e-12).x, atol=1e-5)


def test_damping_leaves_ordinary_fits_alone(rng):
    f = rng.normal(size=(3, 40, 4))
    y = np.where(rng.random((3, 40)) < 0.7, 1.0, -1.0)
    theta = np.zeros((3, 4))
    for _ in range(50):  # plain Newton, the oracle of ordinary fits
        s = expit(-y * np.einsum("rnk,rk->rn", f, theta))
        grad = np.einsum("rn,rnk->rk", y * s, f) - theta
        hess = np.einsum("rn,rnk,rnl->rkl", s * (1 - s), f, f) + np.eye(4)
        theta = theta + np.linalg.solve(hess, grad[..., None])[..., 0]
    np.testing.assert_allclose(fit_logistic(f, y, 1.0), theta, rtol=1e-12, atol=0)


@pytest.mark.parametrize("scale, lam, n", [(1.0, RIDGE_MIN, 6), (FEATURE_NOISE_MAX, RIDGE_MIN, 6),
                                           (FEATURE_NOISE_MAX, RIDGE_MIN, 3)])
def test_fit_reaches_the_optimum_at_the_config_limits(rng, scale, lam, n):
    """Separable comparisons at the smallest ridge and the largest feature scale a config
    allows: a sigmoid that is 0 from margin ~37 on (0.5 (1 + tanh(t/2))) sent Newton's steps
    astray, and fewer comparisons than dimensions made its system singular."""
    f = scale * rng.normal(size=(3, n, 4))
    y = np.sign(f @ rng.normal(size=4))
    theta = fit_logistic(f, y, lam)
    assert np.isfinite(theta).all()
    s = expit(-y * np.einsum("rnk,rk->rn", f, theta))
    pull = np.einsum("rn,rnk->rk", y * s, f)  # equals lam theta at the optimum
    gap = np.linalg.norm(pull - lam * theta, axis=1)
    assert (gap <= 1e-6 * np.linalg.norm(lam * theta, axis=1)).all()


def test_fitted_utility_recovers_the_true_one(rng):
    model = make_model(k=4, d=10, temperature=0.5, n_items=2000, feature_noise=0.05, rng=rng)
    i, j, _, y = comparisons(model, 8000, rng, shape=(1,))
    P = principal_directions(model.x)  # full rank: P is a rotation
    theta = fit_logistic((model.x[i] - model.x[j]) @ P.T, y, 1.0)
    learned = P.T @ theta[0]
    v = model.direction
    # compare on the item cloud (directions off the k-dim subspace barely matter)
    cosine = np.corrcoef(model.x @ learned, model.x @ v)[0, 1]
    assert cosine > 0.98


def test_accuracy_never_exceeds_bayes(rng):
    model = make_model(k=3, d=8, temperature=1.0, n_items=500, feature_noise=0.1, rng=rng)
    ti, tj, p, _ = comparisons(model, 3000, rng)
    b_acc, b_loss = bayes(p)
    theta = rng.normal(size=(50, 8))
    theta[0] = model.direction  # the true direction attains the Bayes accuracy
    acc, loss = held_out(theta, model.x[ti] - model.x[tj], p)
    assert (acc <= b_acc + 1e-12).all() and acc[0] == pytest.approx(b_acc)
    assert (loss >= b_loss - 1e-12).all()
    config = ElbowConfig(k=(2,), d=6, reps=4, n_max=256, test_pairs=500, bootstrap=20)
    curves, _ = run_cell(config, 2, 0.5)
    assert all(c["accuracy"] <= c["bayes_accuracy"] + 1e-12 for c in curves)


def test_scaling_fits():
    k = np.array([2, 5, 10, 20])
    fits = fit_scalings(k, 15 * k)
    assert fits["k"][0] == pytest.approx(15) and fits["k"][1] == pytest.approx(0, abs=1e-12)
    assert min(fits, key=lambda n: fits[n][1]) == "k"


@pytest.mark.parametrize("data, field", [({"k": [30], "d": 20}, "k"), ({"noise": [0]}, "noise"),
                                         ({"reps": 1}, "reps"), ({"n_max": 2, "n_min": 4}, "n_max"),
                                         ({"bogus": 1}, "bogus"), ({"k": ["a"]}, "k"),
                                         ({"d": 10**5}, "d*d"),  # arrays past 2^32 entries
                                         ({"n_items": 10**8, "d": 100}, "n_items*d")])
def test_config_errors(data, field):
    with pytest.raises(InputError) as info:
        elbow_config(data, "e.toml")
    assert info.value.field == f"e.toml: {field}"


def test_elbow_command_stores_and_plots(capsys, tmp_path):
    db = tmp_path / "e.sqlite"
    argv = ["elbow", "--k", "2", "4", "--d", "6", "--reps", "6", "--n-max", "512", "--test-pairs",
            "800", "--bootstrap", "30", "--ranks", "2", "6", "--db", str(db), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert {(e["k"], e["rank"]) for e in result["elbows"]} == {(2, 2), (2, 6), (4, 2), (4, 6)}
    scaling = result["scalings"]["1.0"]
    assert set(scaling) == {"forms", "slope", "wins", "draws"}
    assert set(scaling["forms"]) == {"constant", "sqrt k", "k", "k log k", "k^2"}
    assert main(argv) == 2  # stored: refused without --resume
    capsys.readouterr()
    assert main(argv + ["--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["elbows"] == result["elbows"]  # nothing recomputed
    assert main(["plot", "--db", str(db), "--out", str(tmp_path / "f"), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["figures"]
    assert {p.split("/")[-1] for p in files} == {"elbow_curves.png", "elbow_scaling.png"}
    from mcirl.results import collect_elbows
    from mcirl.store import Store

    with Store(db) as store:
        curves, elbows = collect_elbows(store)
    (ax,) = plot_elbow_curves(curves, elbows).axes
    accuracy = {line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("accuracy:")}
    assert accuracy == {"accuracy:2", "accuracy:4"}
    (ax,) = plot_elbow_scaling(elbows).axes
    gids = {line.get_gid() for line in ax.lines}
    assert "claim" in gids and {"scaling:free:1", "scaling:best:1"} <= gids
    assert ax.get_xlabel() == "latent utility dimension k"


def test_elbow_on_the_gpu_backend_gives_the_cpu_numbers(capsys, tmp_path, fake_cupy):
    """--backend gpu with tests/fake_cupy.py for CuPy: the fits run on device arrays (mixing in
    a host array would raise, as in CuPy) and give the CPU's curves and elbows to rounding."""
    argv = ["elbow", "--k", "2", "--d", "4", "--reps", "4", "--n-max", "128", "--test-pairs",
            "200", "--bootstrap", "10", "--ranks", "1", "4", "--json"]
    results = {}
    for backend in ("cpu", "gpu"):
        assert main(argv + ["--backend", backend, "--db", str(tmp_path / f"{backend}.sqlite")]) == 0
        results[backend] = json.loads(capsys.readouterr().out)
    assert_same_rows(results["gpu"]["elbows"], results["cpu"]["elbows"])
    from mcirl.results import collect_elbows
    from mcirl.store import Store

    curves = {}
    for backend in ("cpu", "gpu"):
        with Store(tmp_path / f"{backend}.sqlite") as store:
            curves[backend] = collect_elbows(store)[0]
            assert store.runs()[0]["device"].startswith(backend)  # "gpu: fake_cupy"
    assert_same_rows(curves["gpu"], curves["cpu"], skip=("run_id",))


# ----- issue 34: instances, range-free elbows, conditioning, convergence, outside references

def test_the_full_item_fit_is_choix_bradley_terry(rng):
    """On one-hot items the rank-d fit is item-level Bradley-Terry: the same optimum as
    choix.opt_pairwise (a library nobody here wrote), whose penalty alpha ||theta||^2 is ours
    (lam / 2) ||theta||^2 at alpha = lam / 2."""
    choix = pytest.importorskip("choix")
    items, lam = 6, 0.8
    strength = rng.normal(size=items)
    i = rng.integers(0, items, 400)
    j = (i + rng.integers(1, items, 400)) % items
    won = rng.random(400) < expit(strength[i] - strength[j])
    features = (np.eye(items)[i] - np.eye(items)[j])[None]
    theta = fit_logistic(features, np.where(won, 1.0, -1.0)[None], lam)[0]
    data = [(a, b) if w else (b, a) for a, b, w in zip(i, j, won)]
    reference = choix.opt_pairwise(items, data, alpha=lam / 2, method="Newton-CG", tol=1e-12)
    np.testing.assert_allclose(theta - theta.mean(), reference - reference.mean(), atol=1e-6)


@pytest.mark.parametrize("corner", [16, 64, 256])
def test_kneedle_agrees_with_kneed_on_known_corners(corner):
    """Kneedle on a concave curve with a corner: the knee is the corner, as kneed (the
    reference implementation of Satopaa et al.) finds it."""
    kneed = pytest.importorskip("kneed")
    x = np.log2(GRID)
    y = np.minimum(x, np.log2(corner)) + 0.02 * x  # rises steeply, then almost flat
    ours = kneedle(GRID, y)
    theirs = kneed.KneeLocator(x, y, curve="concave", direction="increasing").knee
    assert ours == corner and 2 ** theirs == pytest.approx(corner)


def test_the_gap_and_doubling_elbows_do_not_move_with_the_grid():
    """Kneedle's knee moves as n_max grows (the curve is rescaled to the grid); the gap and
    doubling elbows stay where they are once the grid reaches them."""
    from mcirl.elbow.knee import doubling_elbows, gap_elbows

    def curve(n):  # normalised accuracy: 1 - 2^-(log2 N / 2)
        return 1 - 2.0 ** (-np.log2(n) / 2)

    knees, gaps, doublings = set(), set(), set()
    for top in (2 ** 10, 2 ** 13, 2 ** 16):
        n = 2.0 ** np.arange(2, np.log2(top) + 1)
        a = curve(n)[None]
        knees.add(kneedle(n, a[0]))
        gaps.add(float(gap_elbows(n, a, 0.1)[0]))
        doublings.add(float(doubling_elbows(n, a, 0.02)[0]))
    assert len(knees) == 3
    # a >= 0.9 first at N = 2^7 (1 - 2^-3.5 = 0.912); a doubling gains 2^-(L/2) (1 - 2^-1/2)
    # < 0.02 first from L = 8 (from N = 2^8 on every doubling gains less than 0.02)
    assert gaps == {2.0 ** 7} and doublings == {2.0 ** 8}


def test_a_curve_that_does_not_rise_has_no_elbow_and_says_so():
    from mcirl.elbow.knee import elbow_status, elbows

    n = np.array([4.0, 8, 16, 32, 64])
    for method in ("gap", "doubling", "kneedle"):
        falling = np.array([0.5, 0.4, 0.3, 0.2, 0.1])
        knee = elbows(method, n, falling[None])[0]
        assert elbow_status(n, falling, knee) == "no rise"
    rising = np.array([0.1, 0.3, 0.5, 0.7, 0.85])  # still climbing at the grid's end
    assert np.isnan(elbows("gap", n, rising[None])[0])
    assert elbow_status(n, rising, np.nan) == "not reached"


def test_every_k_is_equally_hard_with_an_orthonormal_mixing(rng):
    """A Gaussian C / sqrt(k) made C^T C ill-conditioned at k = d (condition number 209 and
    sd(u) = 2.07 in one instance); an orthonormal frame gives sd(u) = sqrt(1 + sigma_x^2)."""
    for k in (2, 10, 20):
        model = make_model(k=k, d=20, temperature=1.0, n_items=20000, feature_noise=0.05, rng=rng)
        assert np.linalg.cond(model.B @ model.B.T) == pytest.approx(1.0)
        assert model.u.std() == pytest.approx(np.sqrt(1 + 0.05 ** 2), rel=0.03)


def test_newton_reports_the_fits_that_did_not_converge(rng, monkeypatch):
    from mcirl.elbow import fit

    f = rng.normal(size=(3, 50, 4))
    y = np.where(rng.random((3, 50)) < 0.7, 1.0, -1.0)
    _, converged = fit.fit_logistic(f, y, 1.0, with_convergence=True)
    assert converged.all()
    monkeypatch.setattr(fit, "NEWTON_STEPS", 1)
    _, converged = fit.fit_logistic(f, y, 1.0, with_convergence=True)
    assert not converged.any()
    config = ElbowConfig(k=(2,), d=4, reps=3, instances=2, n_max=32, test_pairs=200, bootstrap=10)
    curves, _ = run_cell(config, 2, 1.0)
    assert sum(c["unconverged"] for c in curves) == len(curves) * 6  # every fit of every row


def test_the_interval_covers_instances_not_only_training_sets():
    """The nested bootstrap resamples instances: curves that differ only between instances
    give a wide interval, where resampling training sets within one instance gave none."""
    from mcirl.elbow.knee import gap_elbows, nested_bootstrap, percentile_interval

    n = 2.0 ** np.arange(2, 12)
    corners = [2.0 ** 5, 2.0 ** 8, 2.0 ** 6, 2.0 ** 9]  # one elbow per instance
    curves = np.stack([np.tile(np.clip(np.log2(n) / np.log2(c), 0, 1), (5, 1)) for c in corners])
    draws = gap_elbows(n, nested_bootstrap(curves, 400, seed=1), 0.1)
    low, high = percentile_interval(draws)
    assert low <= 2.0 ** 6 and high >= 2.0 ** 8
    within = gap_elbows(n, nested_bootstrap(curves[:1], 400, seed=1), 0.1)
    assert set(within) == {2.0 ** 5}


def test_scaling_fits_report_the_slope_interval_and_how_often_each_form_wins():
    from mcirl.elbow.experiment import scaling_fits

    rng = np.random.default_rng(5)
    rows = []
    for k in (2, 5, 10, 20):
        draws = 15 * k * np.exp(rng.normal(0, 0.1, 200))
        rows.append({"k": k, "n_elbow": 15.0 * k, "draws": json.dumps(draws.tolist())})
    fit = scaling_fits(rows)
    slope, low, high = fit["slope"]
    assert slope == pytest.approx(1.0) and low < 1.0 < high and high - low < 0.3
    assert max(fit["wins"], key=fit["wins"].get) == "k" and fit["wins"]["k"] > 0.5
    assert fit["draws"] == 200 and scaling_fits(rows[:1]) == {}


def test_cross_validation_picks_a_strong_ridge_for_noise_and_a_weak_one_for_signal(rng):
    from mcirl.elbow.fit import cross_validated_ridge

    ridges = (0.01, 1.0, 100.0)
    f = rng.normal(size=(4, 200, 5))
    noise = np.where(rng.random((4, 200)) < 0.5, 1.0, -1.0)  # labels unrelated to the features
    signal = np.sign(f @ np.array([3.0, -2, 1, 0, 0]))  # labels the features decide
    assert cross_validated_ridge(f, noise, ridges) == 100.0
    assert cross_validated_ridge(f, signal, ridges) == 0.01
    assert cross_validated_ridge(f[:, :1], signal[:, :1], ridges) == 100.0  # too few to test


def test_a_cross_validated_run_stores_the_ridge_it_chose(tmp_path):
    config = ElbowConfig(k=(2,), d=4, reps=3, instances=2, n_max=64, test_pairs=200, bootstrap=10,
                         ridge_cv=(0.1, 10.0))
    curves, _ = run_cell(config, 2, 1.0)
    assert {round(c["ridge"], 6) for c in curves} <= {0.1, 10.0} | {round(np.sqrt(0.1 * 10.0), 6)}
    with pytest.raises(InputError, match="ridge_cv"):
        elbow_config({"ridge_cv": [0]}, "e.toml")


def test_the_dry_run_plans_and_estimates_without_storing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["elbow", "--k", "2", "3", "--d", "4", "--reps", "3", "--instances", "2", "--n-max", "64",
            "--ridge-cv", "0.1", "1", "--dry-run", "--json"]
    assert main(argv) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["fits"] == 2 * 2 * 4 * len(plan["grid"]) * (1 + 2 * 2) and plan["estimated_seconds"] > 0
    assert main(argv + ["--no-calibrate"]) == 0 and "estimated_seconds" not in json.loads(capsys.readouterr().out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("n, r", [(200, 5), (2000, 20)])
def test_the_evidence_ridge_is_at_the_laplace_evidence_maximum(n, r):
    """MacKay's fixed point against the Laplace evidence maximised over a fine grid of ridges
    (each fitted to its optimum): within 0.05 nats, where a ridge 3x off (the planted twin: a
    wrong gamma or a missing trace term moves it by more) loses at least 0.5."""
    from mcirl.elbow.fit import fit_evidence, log_evidence

    rng = np.random.default_rng(7)
    f = rng.normal(size=(6, n, r))
    w = np.zeros(r)
    w[: r // 2] = rng.normal(size=r // 2)
    y = np.where(rng.random((6, n)) < expit(f @ w), 1.0, -1.0)
    theta, lam, converged = fit_evidence(f, y)
    assert converged.all()
    grid = np.geomspace(1e-3, 1e4, 141)
    best = np.stack([log_evidence(f, y, fit_logistic(f, y, g), g) for g in grid]).max(axis=0)
    assert (best - log_evidence(f, y, theta, lam) <= 0.05).all()
    for wrong in (3 * lam, lam / 3):
        assert (best - log_evidence(f, y, fit_logistic(f, y, wrong), wrong) >= 0.5).all()
    np.testing.assert_allclose(theta, fit_logistic(f, y, lam), rtol=1e-8, atol=1e-12)  # the optimum


def test_the_evidence_ridge_is_strong_for_noise_weak_for_signal_and_warm_starts_agree(rng):
    from mcirl.elbow.fit import EVIDENCE_TOLERANCE, fit_evidence

    f = rng.normal(size=(4, 300, 5))
    noise = np.where(rng.random((4, 300)) < 0.5, 1.0, -1.0)
    signal = np.where(f @ np.array([3.0, -2, 1, 0, 0]) > 0, 1.0, -1.0)
    assert (fit_evidence(f, noise)[1] > 30).all() and (fit_evidence(f, signal)[1] < 0.1).all()
    y = np.where(rng.random((4, 300)) < expit(f @ np.array([1.0, -1, 0, 0, 0])), 1.0, -1.0)
    theta, lam, _ = fit_evidence(f, y)
    warm_theta, warm_lam, converged = fit_evidence(f, y, lam0=5 * lam, theta0=theta)
    assert converged.all()
    np.testing.assert_allclose(np.log(warm_lam), np.log(lam), atol=20 * EVIDENCE_TOLERANCE)


def test_the_default_ridge_is_the_evidence_and_is_stored_per_curve(capsys):
    from mcirl.elbow.fit import EVIDENCE

    config = ElbowConfig(k=(2,), d=4, reps=3, instances=2, n_max=64, test_pairs=200, bootstrap=10)
    assert config.ridge == EVIDENCE and "ridge by evidence" in config.method
    curves, _ = run_cell(config, 2, 1.0)
    ridges = [c["ridge"] for c in curves]
    assert len(set(ridges)) > 1 and all(1e-6 <= x <= 1e6 for x in ridges)
    assert sum(c["unconverged"] for c in curves) == 0
    with pytest.raises(InputError, match="ridge"):
        elbow_config({"ridge": "cv"}, "e.toml")
    assert main(["elbow", "--ridge", "lots", "--dry-run"]) == 2
    assert "--ridge" in capsys.readouterr().err


def test_warm_starts_along_n_give_the_cold_start_ridges():
    """run_cell warm-starts each N from the previous N's fit. A row with no signal at the
    smallest N goes to the top ridge; warm-started from there it must not stay there once more
    comparisons show a signal (the code before this test kept 70% of rows at the top at k = 10,
    N = 128-1448). Each N's ridges equal a cold start's to the iteration's tolerance."""
    from mcirl.elbow.fit import EVIDENCE_RIDGES, fit_evidence

    config = ElbowConfig(k=(20,), noise=(0.5,))
    model, diff, y, _, _ = _instance(config, 20, 0.5, 0)
    features = diff @ principal_directions(model.x).T
    lam, theta, topped = 1.0, None, 0
    for n in [n for n in config.grid if n <= 512]:
        theta, lam, converged = fit_evidence(features[:, :n], y[:, :n], lam, theta)
        _, cold, _ = fit_evidence(features[:, :n], y[:, :n])
        assert converged.all()
        topped += int((lam >= 0.999 * EVIDENCE_RIDGES[1]).sum())
        if n >= 64:  # every row has a signal by here
            np.testing.assert_allclose(np.log(lam), np.log(cold), atol=0.05)
    assert topped > 0  # some row did start at the top
