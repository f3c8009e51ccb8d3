"""The elbow experiment: configs, the run over (k, noise) x ranks x N, and its rows.

For every latent dimension k and temperature: ``instances`` preference-model instances (seeds
of the latent model), ``reps`` independent training sets of comparisons each, read at nested
prefixes N on a geometric grid, fits of every rank r, and held-out expected accuracy and
log-loss against the Bayes-optimal values. N_elbow is read off the mean normalised accuracy
curve (:mod:`.knee`: by default the smallest N within 10% of the Bayes accuracy's gain over
chance, which does not move with the grid's range), with a nested bootstrap interval over
instances and, within them, training sets, per (k, d, noise, rank); the headline is rank r = d
(a model that must discover the low dimension itself). Scaling fits of N_elbow against k pair
the bootstrap draws across k (:func:`scaling_fits`), so the slope's interval and how often each
form wins cover the instance-to-instance variation.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..backend import to_numpy
from ..errors import SEED_MAX, TABLE_MAX, InputError, check_choice, check_int, check_real
from ..output import counted
from ..provenance import content_hash, read_toml, run_metadata
from .fit import EVIDENCE, bayes, cross_validated_ridge, fit_evidence, fit_logistic, held_out, principal_directions
from .knee import ELBOW_METHODS, elbow_status, elbows, nested_bootstrap, percentile_interval
from .model import comparisons, make_model
from ..stats import slope


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
    ridge: float | str = EVIDENCE  #: L2 penalty lam of the fits, or "evidence": one per fit, by evidence
    ridge_cv: tuple = ()  #: candidate ridges: chosen per (N, rank) by 2-fold cross-validation
    ranks: tuple = ()  #: model ranks r (empty: 1..d)
    bootstrap: int = 200  #: bootstrap draws of the elbow interval
    seed: int = 0
    instances: int = 5  #: preference-model instances (latent-model seeds) per (k, noise)
    elbow: str = "gap"  #: gap | doubling | kneedle (mcirl.elbow.knee)
    fraction: float = 0.1  #: gap: the elbow is within this fraction of Bayes' gain over chance
    threshold: float = 0.02  #: doubling: the elbow is where a doubling of N gains less than this

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
        if self.ridge != EVIDENCE:
            if isinstance(self.ridge, str):
                raise InputError("ridge", f"must be a number or {EVIDENCE!r}", self.ridge)
            check_real("ridge", self.ridge, RIDGE_MIN, math.inf, high_open=True)
        for lam in self.ridge_cv:
            check_real("ridge_cv", lam, RIDGE_MIN, math.inf, high_open=True)
        check_int("bootstrap", self.bootstrap, 1)
        check_int("seed", self.seed, 0, SEED_MAX)
        check_int("instances", self.instances, 1)
        check_choice("elbow", self.elbow, ELBOW_METHODS)
        check_real("fraction", self.fraction, 0.0, 1.0, low_open=True, high_open=True)
        check_real("threshold", self.threshold, 0.0, 1.0, low_open=True, high_open=True)
        for name, entries in (("d*d", d * d), ("n_items*d", self.n_items * d),
                              ("reps*n_max*d", self.reps * self.n_max * d),
                              ("instances*reps*bootstrap", self.instances * self.reps * self.bootstrap),
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

    @property
    def method(self) -> str:
        """The elbow definition in words (stored with every elbow)."""
        rule = {"gap": f"gap: within {self.fraction:g} of Bayes' gain over chance",
                "doubling": f"doubling: a doubling of N gains < {self.threshold:g}",
                "kneedle": "kneedle (range-dependent)"}[self.elbow]
        ridge = (f"ridge by 2-fold cross-validation per (N, rank) of {len(self.ridge_cv)}" if self.ridge_cv
                 else "ridge by evidence per fit" if self.ridge == EVIDENCE else f"ridge {self.ridge:g}")
        return (f"{rule}; {ridge}; nested bootstrap over {counted(self.instances, 'instance')} x "
                f"{self.reps} training sets")


_LISTS = ("k", "noise", "ranks", "ridge_cv")


def elbow_config(data: dict, source: str | None = None) -> ElbowConfig:
    """An ElbowConfig from a dict (TOML or CLI); errors name the key, as '<source>: <key>: ...'
    where a source (a file's name) is given."""
    def where(key):
        return key if source is None else f"{source}: {key}"

    names = [f.name for f in fields(ElbowConfig)]
    for key in data:
        if key not in names:
            raise InputError(where(key), f"unknown key (allowed: {', '.join(names)})")
    values = {}
    for key, value in data.items():
        if key in _LISTS:
            value = tuple(value) if isinstance(value, (list, tuple)) else (value,)
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
                raise InputError(where(key), "must be numbers", value)
        values[key] = value
    try:
        return ElbowConfig(**values)
    except InputError as exc:
        raise InputError(where(exc.field), exc.allowed, exc.got) from None
    except TypeError as exc:
        raise InputError(source or "options", str(exc)) from None


def load_elbow_config(path) -> ElbowConfig:
    """Read and validate a TOML elbow config."""
    path = Path(path)
    return elbow_config(read_toml(path), path.name)


def instance_model(config: ElbowConfig, k: int, temperature: float, instance: int):
    """(model, rng): one latent-model instance and the generator its comparisons continue."""
    rng = np.random.default_rng([config.seed, k, int(round(temperature * 1e6)), instance])
    return make_model(k, config.d, temperature, config.n_items, config.feature_noise, rng), rng


def _instance(config: ElbowConfig, k: int, temperature: float, instance: int):
    """One latent-model instance with its training comparisons and held-out pairs."""
    model, rng = instance_model(config, k, temperature, instance)
    i, j, _, y = comparisons(model, config.n_max, rng, shape=(config.reps,))
    ti, tj, p_test, _ = comparisons(model, config.test_pairs, rng)
    return model, model.x[i] - model.x[j], y, model.x[ti] - model.x[tj], p_test


def run_cell(config: ElbowConfig, k: int, temperature: float, xp=np):
    """Curves and elbows of one (k, noise), over the config's instances: (curve rows, elbow
    rows). Curves pool every instance's training sets; ``accuracy_sd`` is the spread of the
    instances' mean accuracies; ``unconverged`` counts fits whose Newton steps did not settle."""
    grid = config.grid
    ranks = config.rank_list
    n_inst, R, C = config.instances, config.reps, len(grid)
    accuracy = np.empty((len(ranks), n_inst, R, C))
    logloss = np.empty((len(ranks), n_inst, R, C))
    unconverged = np.zeros((len(ranks), C), dtype=np.int64)
    chosen = np.empty((len(ranks), n_inst, C))  # each fit's ridge (geometric mean over rows)
    bayes_accuracy, bayes_logloss = np.empty(n_inst), np.empty(n_inst)
    for inst in range(n_inst):
        model, diff, y, test_diff, p_test = _instance(config, k, temperature, inst)
        bayes_accuracy[inst], bayes_logloss[inst] = bayes(p_test)
        directions = principal_directions(model.x)  # (d, d)
        for ri, r in enumerate(ranks):
            P = directions[:r]
            features = xp.asarray(diff @ P.T)
            test_features = xp.asarray(test_diff @ P.T)
            lam, theta = 1.0, None  # evidence: each N warm-starts from the previous N's fit
            for c, n in enumerate(grid):
                train, labels = features[:, :n], xp.asarray(y[:, :n])
                if config.ridge_cv:
                    lam = cross_validated_ridge(train, labels, config.ridge_cv)
                    theta, converged = fit_logistic(train, labels, lam, with_convergence=True)
                elif config.ridge == EVIDENCE:
                    theta, lam, converged = fit_evidence(train, labels, lam, theta)
                else:
                    theta, converged = fit_logistic(train, labels, config.ridge, with_convergence=True)
                chosen[ri, inst, c] = float(np.exp(np.log(to_numpy(lam)).mean()))
                acc, loss = held_out(theta, test_features, xp.asarray(p_test))
                accuracy[ri, inst, :, c], logloss[ri, inst, :, c] = to_numpy(acc), to_numpy(loss)
                unconverged[ri, c] += int(R - to_numpy(converged).sum())
    # 0 at chance, 1 at the Bayes-optimal predictor, per instance (each has its own Bayes)
    normalised = (accuracy - 0.5) / (bayes_accuracy[None, :, None, None] - 0.5)
    curves, found = [], []
    for ri, r in enumerate(ranks):
        for c, n in enumerate(grid):
            curves.append({"k": k, "d": config.d, "noise": temperature, "rank": r, "n": n,
                           "reps": n_inst * R, "accuracy": float(accuracy[ri, ..., c].mean()),
                           "accuracy_sd": float(accuracy[ri, ..., c].mean(axis=1).std(ddof=1)) if n_inst > 1
                           else float(accuracy[ri, 0, :, c].std(ddof=1)),
                           "logloss": float(logloss[ri, ..., c].mean()),
                           "bayes_accuracy": float(bayes_accuracy.mean()),
                           "bayes_logloss": float(bayes_logloss.mean()), "unconverged": int(unconverged[ri, c]),
                           "ridge": float(np.exp(np.log(chosen[ri, :, c]).mean()))})
        mean = normalised[ri].mean(axis=(0, 1))
        knee = elbows(config.elbow, grid, mean[None], config.fraction, config.threshold)[0]
        draws = elbows(config.elbow, grid, nested_bootstrap(normalised[ri], config.bootstrap, config.seed),
                       config.fraction, config.threshold)
        low, high = percentile_interval(draws)
        found.append({"k": k, "d": config.d, "noise": temperature, "rank": r,
                      "n_elbow": float(knee) if np.isfinite(knee) else None, "n_low": low, "n_high": high,
                      "method": config.method, "status": elbow_status(grid, mean, knee),
                      "draws": json.dumps([None if not np.isfinite(x) else float(x) for x in draws])})
    return curves, found


def dry_run(config: ElbowConfig, calibrate: bool = True) -> dict:
    """The plan of an elbow run without running it: cells, fits and, from one timed fit (the
    full rank at n_max, batched over replicates), a rough time estimate. A fit's cost is taken
    as proportional to N r^2 (the Hessians' products), so the others scale from the one timed;
    cross-validated ridges cost 1 + 2 x (candidates) fits each."""
    grid, ranks = config.grid, config.rank_list
    cells = len(config.k) * len(config.noise)
    per_fit = 1 + 2 * len(config.ridge_cv)
    fits = cells * config.instances * len(ranks) * len(grid) * per_fit
    plan = {"name": config.name, "run_id": config.run_id, "cells": cells, "instances": config.instances,
            "reps": config.reps, "ranks": len(ranks), "grid": grid, "fits": fits, "method": config.method}
    if calibrate:
        model, diff, y, _, _ = _instance(config, config.k[0], config.noise[0], 0)
        features = diff @ principal_directions(model.x).T
        t0 = time.perf_counter()
        if config.ridge == EVIDENCE and not config.ridge_cv:
            fit_evidence(features, y)  # cold: more steps than the run's warm-started fits
        else:
            fit_logistic(features, y, 1.0 if config.ridge == EVIDENCE else config.ridge)
        seconds = time.perf_counter() - t0
        weight = sum(n * r * r for n in grid for r in ranks) / (config.n_max * config.d ** 2)
        plan.update(calibration_seconds=seconds,
                    estimated_seconds=seconds * weight * cells * config.instances * per_fit)
    return plan


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
    with store.keep_alive(run_id):
        for index, (k, t) in enumerate(cells):
            if (k, t) not in done:
                curves, found = run_cell(config, k, t, xp)
                store.put_elbow(run_id, curves, found)
            if progress is not None:
                progress("elbow", index + 1, len(cells))
    store.finish_run(run_id, time.perf_counter() - t0)
    return run_id


#: The scaling forms fitted to N_elbow against k (n ~ c f(k)); "free" fits the exponent too.
SCALINGS = {"constant": lambda k: np.ones_like(k), "sqrt k": np.sqrt, "k": lambda k: k,
            "k log k": lambda k: k * np.log(np.maximum(k, 2)), "k^2": lambda k: k**2}


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


def scaling_fits(elbow_rows, level=0.95) -> dict:
    """Scaling of N_elbow with k from the full-rank elbows of one temperature, with the
    uncertainty of the instances: each bootstrap draw (stored per k, draws independent across
    k since every k has its own instances) gives one N_elbow per k; per draw the free slope is
    fitted and the best form chosen. Returns {"forms": fit_scalings of the point estimates,
    "slope": [estimate, low, high], "wins": {form: fraction of draws it fits best}, "draws": n}
    (empty without two k with an elbow)."""
    rows = sorted((e for e in elbow_rows if e["n_elbow"] is not None), key=lambda e: e["k"])
    if len({e["k"] for e in rows}) < 2:
        return {}
    k = np.array([e["k"] for e in rows], float)
    n = np.array([e["n_elbow"] for e in rows], float)
    draws = [json.loads(e["draws"]) if e.get("draws") else [] for e in rows]
    count = min((len(d) for d in draws), default=0)
    slopes, wins = [], dict.fromkeys(SCALINGS, 0)
    for b in range(count):
        nb = np.array([d[b] if d[b] is not None else np.nan for d in draws], float)
        ok = np.isfinite(nb)
        if np.unique(k[ok]).size < 2:
            continue
        slopes.append(slope(k[ok], nb[ok]))
        fits = fit_scalings(k[ok], nb[ok])
        wins[min(fits, key=lambda name: fits[name][1])] += 1
    total = sum(wins.values())
    low, high = percentile_interval(slopes, level)
    return {"forms": fit_scalings(k, n), "slope": [slope(k, n), low, high],
            "wins": {name: (w / total if total else None) for name, w in wins.items()}, "draws": total}
