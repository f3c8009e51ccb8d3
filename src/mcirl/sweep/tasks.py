"""The work a worker does: one task -> one result row per m of its batch.

Top-level and free of client state so Dask can pickle it; the only writer of results is the
client (:mod:`.runner`).
"""

from __future__ import annotations

import time

from ..estimate import EstimateConfig, run_estimate
from ..mdp import make_mdp
from .plan import Task


def design(task: Task, sampler: str) -> str:
    """How the task's m values relate: trajectories share one pool across every task of the
    instance; count chains are nested within the task's batch and independent across tasks."""
    return "nested-prefix" if sampler == "trajectories" else "nested-within-task"


def run_task(task: Task) -> list[dict]:
    """Compute a task; returns one dict per m (failures per criterion, iterations, timings)."""
    t0 = time.perf_counter()
    mdp = make_mdp(task.family)
    config = EstimateConfig(m=task.m, eps=task.cell.eps, delta=task.cell.delta, reps=task.reps,
                            algorithm=task.cell.algorithm, max_iter=task.max_iter, seed=task.seed,
                            sampler=task.sampler, backend=task.backend, rep_offset=task.rep_start,
                            lengths=task.cell.lengths, projection_step=task.cell.projection_step,
                            certificate=task.cell.certificate, learn=task.learn)
    result = run_estimate(mdp, config)
    seconds = time.perf_counter() - t0
    return [{"m": row.m, "reps": row.reps, "rep_start": task.rep_start,
             **{f"failures_{name}": count for name, count in row.failures_by_criterion.items()},
             "nonterminated": row.nonterminated, "mean_iterations": row.mean_iterations,
             "mean_regret": row.mean_regret, "mean_performance": row.mean_performance,
             "variance": row.variance, **row.outcomes,
             "terminated_far": row.terminated_far, "max_gap": row.max_gap,
             "max_assured_margin": row.max_assured_margin,
             "horizon": row.horizon, "bound": row.bound, "sampler": result.sampler,
             "design": design(task, result.sampler),
             "seconds_sample": result.seconds["sample"], "seconds_learn": result.seconds["learn"],
             "seconds_total": seconds}
            for row in result.rows]
