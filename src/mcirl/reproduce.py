"""One-command reproductions: the seed table (with a k sweep) and Abbeel & Ng's gridworld.

Each reproduction is a set of sweep configs (built here), run into the results database
(resuming whatever is already there), then plotted and reported. ``quick`` variants are sized for
a 2-core CPU in minutes: larger eps, smaller gamma, fewer and smaller k, fewer replicates.
"""

from __future__ import annotations

from pathlib import Path

from .sweep.config import config_from_dict

#: A full study estimated above this many seconds on a CPU runs only with --yes or a "y" at
#: the terminal (mcirl reproduce).
CONFIRM_SECONDS = 3600

_SEARCH = {"m_min": 1, "factor": 4, "cap": "bound", "bisect": 3, "sampler": "auto"}

#: The full study is the measured one: ``examples/seed-table.toml`` with its dense half and
#: ``examples/k-sweep-onehot.toml``, cell for cell and task for task (tests/test_reproduce.py
#: checks it), so it resumes from the databases in ``results/``. Garnet S = 1024 for every k
#: (one-hot features need S >= k); the seed table keeps the 1000-iteration cap its stored tasks
#: ran with, the k sweep the default cap.
_GARNET_1024 = {"family": "garnet", "S": 1024, "A": 4, "b": 3}
_CELLS = {"criteria": ["theorem", "l2", "regret"], "eps": 0.1, "delta": 0.05}
_SEARCH_FULL = {**_SEARCH, "m_min": 10, "factor": 10, "bisect": 4}

SEED_TABLE = {
    "full": [
        {"name": "seed-table", "seed": 0, "mdp": _GARNET_1024,
         "cells": {"k": [10, 1000], "gamma": [0.9, 0.99], "features": ["onehot", "dense"], **_CELLS},
         "instances": {"count": 4, "reps": 250},
         "search": {**_SEARCH_FULL, "max_iter": 1000}},
        {"name": "k-sweep", "seed": 0, "mdp": _GARNET_1024,
         "cells": {"k": [2, 5, 10, 20, 50, 100, 200, 500, 1000], "gamma": [0.9],
                   "features": ["onehot"], **_CELLS},
         "instances": {"count": 4, "reps": 100},
         "search": _SEARCH_FULL},
    ],
    "quick": [
        {"name": "seed-table-quick", "seed": 0,
         "mdp": {"family": "garnet", "S": 16, "S_per_k": 1, "A": 4, "b": 3},
         "cells": {"k": [4, 16], "gamma": [0.5, 0.8], "features": ["onehot", "dense"],
                   "criteria": ["theorem", "l2", "regret"], "eps": 0.5, "delta": 0.1},
         "instances": {"count": 3, "reps": 100},
         "search": {**_SEARCH, "bisect": 2, "max_iter": 200}},
        {"name": "k-sweep-quick", "seed": 0,
         "mdp": {"family": "garnet", "S": 16, "S_per_k": 1, "A": 4, "b": 3},
         "cells": {"k": [2, 4, 8, 16, 32, 64], "gamma": [0.8], "features": ["onehot"],
                   "criteria": ["theorem", "l2", "regret"], "eps": 0.5, "delta": 0.1},
         "instances": {"count": 3, "reps": 100},
         "search": {**_SEARCH, "bisect": 2, "max_iter": 200}},
    ],
}

GRIDWORLD = {
    # Abbeel & Ng (2004), Figure 4: 128 x 128 grid, 64 macrocells, 30% action failure, sparse w*,
    # performance against the number of expert trajectories over 20 random instances.
    "full": [{"name": "gridworld", "seed": 0,
              "mdp": {"family": "gridworld", "N": 128, "macro": 16, "p_fail": 0.3, "weights": "sparse"},
              "cells": {"k": [64], "gamma": [0.99], "features": ["macrocell"],
                        "criteria": ["theorem", "l2", "regret"], "eps": 0.1, "delta": 0.05},
              "instances": {"count": 20, "reps": 20},
              "search": {"m_min": 1, "factor": 3, "cap": 10000, "bisect": 0, "max_iter": 300}}],
    "quick": [{"name": "gridworld-quick", "seed": 0,
               "mdp": {"family": "gridworld", "N": 16, "macro": 4, "p_fail": 0.3, "weights": "sparse"},
               "cells": {"k": [16], "gamma": [0.9], "features": ["macrocell"],
                         "criteria": ["theorem", "l2", "regret"], "eps": 0.5, "delta": 0.1},
               "instances": {"count": 5, "reps": 20},
               "search": {"m_min": 1, "factor": 4, "cap": 1024, "bisect": 0, "max_iter": 200}}],
}

STUDIES = {"seed-table": SEED_TABLE, "gridworld": GRIDWORLD}


def configs(study: str, quick: bool, backend: str = "cpu", projection_step=None, certificate=None):
    """The validated sweep configs of a reproduction (the learner's options as
    :meth:`~mcirl.sweep.config.SweepConfig.with_learner` takes them; None: the defaults)."""
    return [config_from_dict({**c, "backend": backend}, f"{study}{' --quick' if quick else ''}"
                             ).with_learner(projection_step, certificate)
            for c in STUDIES[study]["quick" if quick else "full"]]


def reproduce(study: str, quick: bool, store, executor, out_dir: Path, fmt: str = "png",
              backend: str = "cpu", progress=None, projection_step=None, certificate=None) -> dict:
    """Run (or resume) a study's sweeps, then write its figures and report into out_dir."""
    from .output import output_dir
    from .plots import write_plots
    from .report import write_report
    from .results import collect, run_rows
    from .sweep.runner import drive_sweep

    out_dir = output_dir(out_dir, "out")  # a bad folder is found before the sweeps, not after
    run_ids = [drive_sweep(config, store, executor, resume=True, progress=progress)
               for config in configs(study, quick, backend, projection_step, certificate)]
    cells = collect(store, run_ids)
    from .explain import ExplainConfig, explain_cells

    explained = explain_cells(cells, ExplainConfig())
    figures = write_plots(cells, out_dir / "figures", fmt, explanations=explained)
    report = write_report(cells, run_rows(store, run_ids), out_dir / "report.md", figures=figures,
                          field="out", explanations=explained)
    return {"runs": run_ids, "figures": [str(p) for p in figures],
            "report": [str(p) for p in report], "cells": len(cells)}
