import json

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import expit

from mcirl.cli import main
from mcirl.elbow.experiment import (FEATURE_NOISE_MAX, RIDGE_MIN, ElbowConfig, elbow_config,
                                   fit_scalings, run_cell)
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
    assert set(result["scalings"]["1.0"]) == {"k", "k log k", "k^2"}
    assert main(argv) == 2  # stored: refused without --resume
    capsys.readouterr()
    assert main(argv + ["--resume"]) == 0
    assert json.loads(capsys.readouterr().out)["elbows"] == result["elbows"]  # nothing recomputed
    assert main(["plot", "--db", str(db), "--out", str(tmp_path / "f"), "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["figures"]
    assert {p.split("/")[-1] for p in files} == {"elbow_curves.png", "elbow_scaling.png"}
    from mcirl.results import collect_elbows
    from mcirl.sweep.store import Store

    with Store(db) as store:
        curves, elbows = collect_elbows(store)
    (ax,) = plot_elbow_curves(curves, elbows).axes
    accuracy = {line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("accuracy:")}
    assert accuracy == {"accuracy:2", "accuracy:4"}
    (ax,) = plot_elbow_scaling(elbows).axes
    gids = {line.get_gid() for line in ax.lines}
    assert "claim" in gids and sum(1 for g in gids if g and g.startswith("scaling:")) == 3
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
    from mcirl.sweep.store import Store

    curves = {}
    for backend in ("cpu", "gpu"):
        with Store(tmp_path / f"{backend}.sqlite") as store:
            curves[backend] = collect_elbows(store)[0]
            assert store.runs()[0]["device"].startswith(backend)  # "gpu: fake_cupy"
    assert_same_rows(curves["gpu"], curves["cpu"], skip=("run_id",))
