"""mcirl.find_mstar: the sweep's m* search on one MDP in memory (issue 51, item 3)."""

from dataclasses import replace

import pytest

import mcirl
from mcirl.store import Store
from mcirl.sweep.config import config_from_dict
from mcirl.sweep.execute import InProcessExecutor
from mcirl.sweep.plan import cells, grid_for
from mcirl.sweep.runner import drive_sweep

SWEEP = {"seed": 5, "mdp": {"S": 10, "A": 2, "b": 3},
         "cells": {"k": [2], "gamma": [0.8], "criteria": ["theorem", "regret"], "eps": 0.5, "delta": 0.1},
         "instances": {"count": 1, "reps": 40},
         "search": {"factor": 4, "bisect": 2, "max_iter": 400, "sampler": "counts", "sequential": False}}


@pytest.mark.parametrize("criterion", ["theorem", "regret"])
def test_find_mstar_gives_a_one_instance_sweeps_mstar(tmp_path, criterion):
    """On the MDP and trajectory streams of a one-instance sweep (all replicates in one block,
    no early stopping), find_mstar evaluates the same points and returns the stored m*."""
    config = config_from_dict(SWEEP)
    with Store(tmp_path / "r.sqlite") as store:
        run_id = drive_sweep(config, store, InProcessExecutor())
        (stored,) = [r for r in store.table("mstar", run_id)
                     if r["criterion"] == criterion and r["instance"] == -1]
    (cell,) = cells(config)
    mdp_seed, seed = cell.seeds(config.seed, 0)
    mdp = mcirl.make_mdp(replace(cell.family, seed=mdp_seed))
    found = mcirl.find_mstar(mdp, mcirl.EstimateConfig(
        m=grid_for(config, cell), eps=0.5, delta=0.1, reps=40, criterion=criterion, max_iter=400,
        seed=seed, sampler="counts"), bisect=2)
    assert (found.status, found.m_star, found.m_lo, found.m_hi) == (
        stored["status"], stored["m_star"], stored["m_lo"], stored["m_hi"])
    assert len(found.counts) == stored["evaluated"] and found.cap == max(grid_for(config, cell))


def test_find_mstar_refuses_a_bad_bisect():
    mdp = mcirl.make_mdp(mcirl.FamilySpec(S=8, k=2, gamma=0.8))
    with pytest.raises(mcirl.InputError, match="bisect"):
        mcirl.find_mstar(mdp, mcirl.EstimateConfig(m=(4, 16)), bisect=-1)
