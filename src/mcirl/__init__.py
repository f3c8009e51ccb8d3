"""mcirl: Monte Carlo verification of apprenticeship-learning sample complexity.

How many expert trajectories does feature-matching inverse RL really need, against Abbeel &
Ng's bound m >= 2k/(eps(1-gamma))^2 ln(2k/delta)? The method is in docs/method.md, the
measured answers in docs/results.md, a walk-through of this API in docs/python.md.

The public API, by task (everything else is internal and may change)::

    spec = mcirl.FamilySpec(family="garnet", S=64, k=16, gamma=0.95, seed=1)
    mdp = mcirl.make_mdp(spec)                      # or mcirl.load_mdp / mcirl.mdp_from_arrays
    policy, mu_E = mcirl.expert(mdp)                # (1, S) int64, (k,) float64
    est = mcirl.run_estimate(mdp, mcirl.EstimateConfig(m=(16, 256), eps=1.0, reps=100))
    star = mcirl.find_mstar(mdp, mcirl.EstimateConfig(m=(4, 16, 64, 256), eps=1.0, reps=100))
    mcirl.bounds.abbeel_ng_trajectories(16, 0.95, 1.0, 0.05)
    mcirl.explain_mdp(mdp, mcirl.ExplainConfig(eps=1.0))
    run_id = mcirl.run_sweep("examples/tiny.toml", db="results.sqlite")
    frames = mcirl.results.frames("results.sqlite")   # tidy pandas DataFrames

Names are imported on first use, so ``import mcirl`` stays fast for the command line. (The
runners are ``run_estimate`` and ``run_learner`` because ``mcirl.estimate`` and ``mcirl.learn``
are the modules that hold them.)
"""

import importlib
import os

try:  # baked in at build time by setuptools-scm (pyproject.toml)
    from ._version import __version__
except ImportError:  # a source tree never built or installed
    __version__ = "0.1.0+unknown"

# Numba's parallel kernels (OpenMP) and NumPy's BLAS (OpenBLAS threads) alternate in the
# learner; each pool spins after its work and starves the other, which on 2 cores made both
# ~6x slower (benchmarks/README.md). Sleeping idle OpenMP threads fixes it. This must be set
# before libgomp loads (Numba loads it at the first parallel launch); a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from .errors import InputError  # noqa: E402

#: public name -> (module, attribute); None as attribute: the module itself
_API = {
    # MDPs
    "MDP": (".mdp", "MDP"),
    "FamilySpec": (".mdp", "FamilySpec"),
    "make_mdp": (".mdp", "make_mdp"),
    "mdp_from_arrays": (".mdp.validate", "checked_mdp"),
    "load_mdp": (".mdp", "load_npz"),
    "save_mdp": (".mdp", "save_npz"),
    # the expert and exact solves
    "expert": (".solve", "expert"),
    "feature_expectations": (".solve", "feature_expectations"),
    "optimal_policy": (".solve", "optimal_policy"),
    # one cell
    "EstimateConfig": (".estimate", "EstimateConfig"),
    "Estimate": (".estimate", "Estimate"),
    "run_estimate": (".estimate", "run_estimate"),
    # learners and criteria
    "run_learner": (".learn", "learn"),
    "LearnResult": (".learn", "LearnResult"),
    "successes": (".learn", "successes"),
    "ALGORITHMS": (".learn", "ALGORITHMS"),
    "CRITERIA": (".learn", "CRITERIA"),
    # explain: the bound's relaxations and the predicted m*
    "ExplainConfig": (".explain", "ExplainConfig"),
    "Explanation": (".explain", "Explanation"),
    "explain_mdp": (".explain", "explain_mdp"),
    # sweeps and their results
    "SweepConfig": (".sweep.config", "SweepConfig"),
    "load_config": (".sweep.config", "load_config"),
    "config_from_dict": (".sweep.config", "config_from_dict"),
    "run_sweep": (".api", "run_sweep"),
    "find_mstar": (".api", "find_mstar"),
    "MStar": (".api", "MStar"),
    # modules
    "bounds": (".bounds", None),
    "stats": (".stats", None),
    "results": (".results", None),
}

__all__ = ["__version__", "InputError", *_API]


def __getattr__(name):
    if name not in _API:
        raise AttributeError(f"module 'mcirl' has no attribute {name!r}")
    module, attribute = _API[name]
    value = importlib.import_module(module, __name__)
    value = value if attribute is None else getattr(value, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
