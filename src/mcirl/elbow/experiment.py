"""The elbow experiment: configs, the run over (k, noise) x ranks x N, and its rows.

For every latent dimension k and temperature: one preference-model instance, ``reps``
independent training sets of comparisons read at nested prefixes N on a geometric grid, fits of
every rank r, and held-out expected accuracy and log-loss against the Bayes-optimal values.
N_elbow is the Kneedle knee of the mean accuracy curve, with a bootstrap interval over
replicates, per (k, d, noise, rank); the headline is rank r = d (a model that must discover the
low dimension itself).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..backend import to_numpy
from ..errors import SEED_MAX, TABLE_MAX, InputError, check_int, check_real
from ..provenance import content_hash, read_toml, run_metadata
from .fit import bayes, fit_logistic, held_out, principal_directions
from .knee import bootstrap_knee
from .model import comparisons, make_model


#: Largest feature noise: 1e6 times the latent signal's unit scale hides the k-dim structure
#: completely, and the cap keeps the fits' squared features far from float64 overflow.
FEATURE_NOISE_MAX = 1e6
#: Smallest ridge: with it (and features within FEATURE_NOISE_MAX) the optimum's margins stay
#: near log(|f|^2 N / lam) ~ 100, where the logistic's curvature is far above float64 underflow.
RIDGE_MIN = 1e-12


@dataclass(frozen=True)
class ElbowConfig:
    """An elbow experiment; validated on construction."""

    name: str = "elbow"
    k: tuple = (2, 5, 10, 20)  #: latent utility dimensions
    d: int = 20  #: feature dimension (k <= d)
    noise: tuple = (1.0,)  #: Bradley-Terry temperatures T
    feature_noise: float = 0.05  #: sigma_x of the item features around their k-dim subspace
    n_items: int = 2000  #: items to compare
    n_min: int = 4  #: smallest number of training comparisons
    n_max: int = 2048  #: largest
    factor: float = 1.41421356  #: ratio of the geometric N grid
    reps: int = 20  #: independent training sets per (k, noise)
    test_pairs: int = 4000  #: held-out comparisons
    ridge: float = 1.0  #: L2 penalty lam of the fits
    ranks: tuple = ()  #: model ranks r (empty: 1..d)
    bootstrap: int = 200  #: bootstrap draws of the elbow interval
    seed: int = 0

    def __post_init__(self):
        d = check_int("d", self.d, 1)
        for k in self.k:
            check_int("k", k, 1, d)
        for r in self.ranks:
            check_int("ranks", r, 1, d)
        if not self.k or not self.noise:
            raise InputError("k" if not self.k else "noise", "must list at least one value")
        for t in self.noise:
            check_real("noise", t, 0.0, math.inf, low_open=True, high_open=True)
        check_real("feature_noise", self.feature_noise, 0.0, FEATURE_NOISE_MAX)
        check_int("n_items", self.n_items, 2)
        check_int("n_min", self.n_min, 1)
        check_int("n_max", self.n_max, self.n_min + 1)
        check_real("factor", self.factor, 1.0, math.inf, low_open=True, high_open=True)
        check_int("reps", self.reps, 2)
        check_int("test_pairs", self.test_pairs, 1)
        check_real("ridge", self.ridge, RIDGE_MIN, math.inf, high_open=True)
        check_int("bootstrap", self.bootstrap, 1)
        check_int("seed", self.seed, 0, SEED_MAX)
        for name, entries in (("d*d", d * d), ("n_items*d", self.n_items * d),
                              ("reps*n_max*d", self.reps * self.n_max * d),
                              ("test_pairs*d", self.test_pairs * d)):
            if entries > TABLE_MAX:  # the arrays run_cell builds (principal directions, ...)
                raise InputError(name, "the experiment's arrays must hold at most 2^32 entries",
                                 entries)

    @property
    def grid(self) -> list[int]:
        out, n = [], float(self.n_min)
        while round(n) < self.n_max:
            if not out or round(n) > out[-1]:
                out.append(int(round(n)))
            n *= self.factor
        return out + [self.n_max]

    @property
    def rank_list(self) -> list[int]:
        return sorted(set(self.ranks)) if self.ranks else list(range(1, self.d + 1))

    @property
    def run_id(self) -> str:
        return content_hash({"elbow": asdict(self)})


_LISTS = ("k", "noise", "ranks")


def elbow_config(data: dict, source: str = "options") -> ElbowConfig:
    """An ElbowConfig from a dict (TOML or CLI); errors read '<source>: <key>: ...'."""
    names = [f.name for f in fields(ElbowConfig)]
    for key in data:
        if key not in names:
            raise InputError(f"{source}: {key}", f"unknown key (allowed: {', '.join(names)})")
    values = {}
    for key, value in data.items():
        if key in _LISTS:
            value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
                raise InputError(f"{source}: {key}", "must be numbers", value)
        values[key] = value
    try:
        return ElbowConfig(**values)
    except InputError as exc:
        raise InputError(f"{source}: {exc.field}", exc.allowed, exc.got) from None
    except TypeError as exc:
        raise InputError(source, str(exc)) from None


def load_elbow_config(path) -> ElbowConfig:
    """Read and validate a TOML elbow config."""
    path = Path(path)
    return elbow_config(read_toml(path), path.name)


def run_cell(config: ElbowConfig, k: int, temperature: float, xp=np):
    """Curves and elbows of one (k, noise): (curve rows, elbow rows)."""
    rng = np.random.default_rng([config.seed, k, int(round(temperature * 1e6))])
    model = make_model(k, config.d, temperature, config.n_items, config.feature_noise, rng)
    i, j, _, y = comparisons(model, config.n_max, rng, shape=(config.reps,))
    ti, tj, p_test, _ = comparisons(model, config.test_pairs, rng)
    bayes_accuracy, bayes_logloss = bayes(p_test)
    directions = principal_directions(model.x)  # (d, d)
    diff = model.x[i] - model.x[j]  # (R, n_max, d)
    test_diff = model.x[ti] - model.x[tj]
    grid = config.grid
    curves, elbows = [], []
    for r in config.rank_list:
        P = directions[:r]
        features = xp.asarray(diff @ P.T)
        test_features = xp.asarray(test_diff @ P.T)
        accuracy = np.empty((config.reps, len(grid)))
        for c, n in enumerate(grid):
            theta = fit_logistic(features[:, :n], xp.asarray(y[:, :n]), config.ridge)
            acc, loss = held_out(theta, test_features, xp.asarray(p_test))
            acc, loss = (to_numpy(a) for a in (acc, loss))
            accuracy[:, c] = acc
            curves.append({"k": k, "d": config.d, "noise": temperature, "rank": r, "n": n,
                           "reps": config.reps, "accuracy": float(acc.mean()),
                           "accuracy_sd": float(acc.std(ddof=1)), "logloss": float(loss.mean()),
                           "bayes_accuracy": bayes_accuracy, "bayes_logloss": bayes_logloss})
        knee, low, high = bootstrap_knee(grid, accuracy, config.bootstrap, seed=config.seed)
        elbows.append({"k": k, "d": config.d, "noise": temperature, "rank": r, "n_elbow": knee,
                       "n_low": low, "n_high": high, "method": "kneedle, percentile bootstrap"})
    return curves, elbows


def run_elbow(config: ElbowConfig, store, resume: bool = False, progress=None,
              backend: str = "cpu") -> str:
    """Run every (k, noise) not yet stored, writing each in one transaction; returns run id.
    backend "gpu" fits on the device with CuPy (same numbers up to rounding)."""
    from ..backend import backend_module

    xp = backend_module(backend)
    run_id = config.run_id
    store.start_run(run_id, config.name, {"elbow": asdict(config)}, run_metadata(backend), resume)
    done = {(r["k"], r["noise"]) for r in store.table("elbows", run_id)}
    cells = [(k, t) for k in config.k for t in config.noise]
    t0 = time.perf_counter()
    for index, (k, t) in enumerate(cells):
        if (k, t) not in done:
            curves, elbows = run_cell(config, k, t, xp)
            store.put_elbow(run_id, curves, elbows)
        if progress is not None:
            progress("elbow", index + 1, len(cells))
    store.finish_run(run_id, time.perf_counter() - t0)
    return run_id


SCALINGS = {"k": lambda k: k, "k log k": lambda k: k * np.log(np.maximum(k, 2)),
            "k^2": lambda k: k**2}


def fit_scalings(k, n):
    """Least-squares fits n ~ c f(k) in log space for f in SCALINGS.

    Returns {name: (c, rms residual of log n)}; the best-fitting form has the smallest residual.
    """
    k, n = np.asarray(k, float), np.asarray(n, float)
    out = {}
    for name, f in SCALINGS.items():
        log_c = float(np.mean(np.log(n) - np.log(f(k))))
        residual = float(np.sqrt(np.mean((np.log(n) - log_c - np.log(f(k))) ** 2)))
        out[name] = (math.exp(log_c), residual)
    return out
