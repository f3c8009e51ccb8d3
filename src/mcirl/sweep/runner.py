"""The client loop of a sweep: searches ask for m batches, tasks run, results are stored.

The client is the only writer to the store. On every pass each unfinished (cell, criterion)
search states the m batch it needs; tasks already in the store (this run's, or any run's with
the same content hash) are read back, the others are submitted once; a search advances when
all its tasks are in. Decisions depend only on stored numbers, so an interrupted sweep resumed
with the same config replays the same decisions and ends with the same rows.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

from ..provenance import run_metadata
from ..results import stored_outcomes
from ..stats import decided, sample_complexity
from .config import SweepConfig
from .plan import Cell, block_count, cells, check_limits, grid_for, iter_tasks, rep_blocks
from .search import MStarSearch
from ..store import Store


def cell_row(cell: Cell, config: SweepConfig) -> dict:
    import json

    grid = grid_for(config, cell)
    return {"cell_id": cell.cell_id, "family": cell.family.family, "features": cell.family.features,
            "k": cell.k, "gamma": cell.gamma, "S": cell.family.S, "algorithm": cell.algorithm,
            "eps": cell.eps, "delta": cell.delta, "horizon": cell.horizon, "bound": cell.bound,
            "cap": grid[-1], "spec": json.dumps(cell.as_dict(), sort_keys=True),
            "lengths": cell.lengths, "projection_step": cell.projection_step,
            "certificate": cell.certificate}


def _pool(rows_by_task, criterion, ms, by_instance=False, undecided_fail=True):
    """{m: (failures, reps)} summed over tasks (and per instance when by_instance); with
    undecided_fail=False rows stopped by the cap count as successes."""
    pooled = {}
    for instance, rows in rows_by_task:
        for row in rows:
            if row["m"] not in ms:
                continue
            key = (instance, row["m"]) if by_instance else row["m"]
            f, r = pooled.get(key, (0, 0))
            fails = row[f"failures_{criterion}"] - (
                0 if undecided_fail else stored_outcomes(row)["undecided"])
            pooled[key] = (f + fails, r + row["reps"])
    return pooled


def drive_sweep(config: SweepConfig, store: Store, executor, *, resume: bool = False,
              progress=None, limits=None) -> str:
    """Drive a sweep's m* searches through ``executor`` into ``store`` to the end (or resume
    them); returns the run id. The public entry point is :func:`mcirl.run_sweep` (a config
    path and a database path); the command line and :mod:`mcirl.reproduce` call this.

    limits: optional {"max_tasks", "max_horizon"} overriding plan.check_limits' defaults.
    progress: optional callable(event, **info) with events "start" (cells, searches),
    "task" (done, submitted, steps, cached; computed: True when the event is a task just
    computed, False when one was submitted or taken from the store) and "search" (done, total,
    cell, criterion, result).
    """
    report = progress or (lambda *a, **k: None)
    run_id = config.run_id
    all_cells = cells(config)
    check_limits(config, all_cells, **(limits or {}))
    by_id = {c.cell_id: c for c in all_cells}
    cell_rows = [cell_row(c, config) for c in all_cells]  # plans every grid: fails before storing
    store.start_run(run_id, config.name, config.as_dict(), run_metadata(config.backend), resume)
    store.add_cells(run_id, cell_rows)
    full = _full_rows(config)
    searches = {(c.cell_id, crit): MStarSearch(grid_for(config, c), c.delta, config.search.bisect,
                                          config.search.confidence, full)
                for c in all_cells for crit in config.cells.criteria}
    history = {key: [] for key in searches}  # the task lists each search has evaluated
    rounds = _rounds(config)  # the replicate blocks a point draws, one round at a time
    batch_tasks = {}  # search -> the tasks of every round of its current batch so far
    current = {}  # search -> the tasks of its current round
    round_of = {}  # search -> the index of its current round
    missing = {}  # search -> how many of them are not in yet
    waiters = {}  # task key -> searches waiting for it
    results, ready = {}, []
    counters = {"done": 0, "submitted": 0, "steps": 0.0, "cached": 0}

    def schedule(name, round_=0, learn=()):
        """Submit round ``round_`` of a search's requested batch (learning the m of ``learn``,
        all when empty), what the store does not hold."""
        if round_ == 0:
            batch_tasks[name] = []
        round_of[name] = round_
        tasks = [replace(t, learn=learn) if learn else t
                 for t in iter_tasks(config, by_id[name[0]], searches[name].request())
                 if t.rep_start in rounds[round_]]
        current[name], missing[name] = tasks, 0
        for task in tasks:
            key = task.key
            if key in results:
                continue
            if key not in waiters:
                stored = store.task_rows(run_id, key)
                if stored is not None:
                    results[key] = stored
                    counters["cached"] += 1
                    counters["done"] += 1
                    counters["submitted"] += 1
                    report("task", **counters, computed=False)
                    continue
                executor.submit(task)
                counters["submitted"] += 1
                report("task", **counters, computed=False)
                waiters[key] = []
            waiters[key].append(name)
            missing[name] += 1
        if missing[name] == 0:
            ready.append(name)

    report("start", cells=len(all_cells), searches=len(searches))
    t0 = time.perf_counter()
    with store.keep_alive(run_id):  # the lease other hosts see while tasks compute
        try:
            for name in searches:
                schedule(name)
            finished = 0
            while finished < len(searches):
                while ready:
                    name = ready.pop()
                    search, tasks = searches[name], current.pop(name)
                    history[name].append(tasks)
                    batch_tasks[name] += tasks
                    batch = set(search.request())
                    rows = [(t.instance, results[t.key]) for t in batch_tasks[name]]
                    following = round_of[name] + 1
                    if following < len(rounds):  # sequential: the points not yet decided go on
                        open_ = _undecided(rows, batch, config.cells.criteria, by_id[name[0]].delta,
                                           config.search.confidence)
                        if open_:
                            schedule(name, following, open_ if len(open_) < len(batch) else ())
                            continue
                    search.advance(_pool(rows, name[1], batch))
                    if search.done:
                        finished += 1
                        _finish_search(store, run_id, config, *name, search, history[name], results)
                        report("search", done=finished, total=len(searches), cell=by_id[name[0]],
                               criterion=name[1], result=search.result())
                    else:
                        schedule(name)
                if finished == len(searches):
                    break
                task, rows = executor.next_done()
                annotated = [{**row, "cell_id": task.cell.cell_id, "instance": task.instance,
                              "seed": task.seed, "mdp_seed": task.mdp_seed} for row in rows]
                timing = {field: rows[0][field] for field in
                          ("seconds_sample", "seconds_learn", "seconds_total")}
                timing["host"] = socket.gethostname()
                store.put_task(run_id, task.key, annotated, timing)
                results[task.key] = annotated
                counters["done"] += 1
                counters["steps"] += task.steps
                report("task", **counters, computed=True)
                for name in waiters.pop(task.key):
                    missing[name] -= 1
                    if missing[name] == 0:
                        ready.append(name)
        except BaseException:
            store.add_seconds(run_id, time.perf_counter() - t0)
            raise
    store.finish_run(run_id, time.perf_counter() - t0)
    return run_id


def _rounds(config: SweepConfig) -> list[set]:
    """The first replicates of the blocks each round draws: one round of every block without
    sequential replication; with it, one block of every instance per round."""
    starts = [start for start, _ in rep_blocks(config)]
    return [{s} for s in starts] if config.search.sequential else [set(starts)]


def _full_rows(config: SweepConfig) -> int | None:
    """The pooled rows of a point that draws all its replicates, when points may stop earlier
    (sequential replication); None without it."""
    return config.instances.count * config.instances.reps if config.search.sequential else None


def _undecided(rows_by_task, batch, criteria, delta, confidence) -> tuple:
    """The m of the batch whose pooled failure rate some criterion's confidence sequence
    (:func:`mcirl.stats.decided`) does not yet separate from delta. Every criterion of the
    cell counts, so all its searches make the same decisions and share their tasks."""
    pooled = {c: _pool(rows_by_task, c, batch) for c in criteria}
    return tuple(m for m in sorted(batch)
                 if not all(decided(*pooled[c][m], delta, confidence) for c in criteria))


def _finish_search(store, run_id, config, cell_id, criterion, search, batches, results):
    """Store m* per instance and pooled for a finished search."""
    ms = set(search.counts)
    rows_by_task = [(t.instance, results[t.key]) for tasks in batches for t in tasks]
    counts = {fail: (_pool(rows_by_task, criterion, ms, undecided_fail=fail),
                     _pool(rows_by_task, criterion, ms, by_instance=True, undecided_fail=fail))
              for fail in (True, False)}
    out = []
    for instance in [-1] + list(range(config.instances.count)):
        row = {"cell_id": cell_id, "criterion": criterion, "instance": instance}
        for fail, suffix in ((False, "_optimistic"), (True, "")):  # the pessimistic m* is m*
            pooled, per_instance = counts[fail]
            at = pooled if instance == -1 else {m: per_instance[(instance, m)] for m in ms}
            evaluated = sorted(at)
            full = _full_rows(config)
            result = sample_complexity(evaluated, [at[m][0] for m in evaluated],
                                       [at[m][1] for m in evaluated], search.delta,
                                       search.confidence,
                                       full if instance == -1 or full is None else config.instances.reps)
            row.update({f"status{suffix}": result.status, f"m_star{suffix}": result.m_star,
                        f"m_lo{suffix}": result.m_lo, f"m_hi{suffix}": result.m_hi})
        row.update({"cap": result.cap, "reps": at[evaluated[0]][1], "evaluated": len(evaluated)})
        out.append(row)
    store.put_mstar(run_id, out)


def dry_run(config: SweepConfig, calibrate: bool = True, limits=None) -> dict:
    """The plan of a sweep without running it: cells, tasks, walker-equivalent trajectory
    steps and, from one short calibration task, a rough time estimate; limits as for
    :func:`drive_sweep` (the dry run refuses what the run refuses)."""
    all_cells = cells(config)
    check_limits(config, all_cells, **(limits or {}))
    blocks = block_count(config)
    per_cell_tasks = config.instances.count * blocks
    criteria = len(config.cells.criteria)
    rows, grid_steps, bisect_steps = [], 0.0, 0.0
    for cell in all_cells:
        grid = grid_for(config, cell)
        steps = config.instances.count * config.instances.reps * grid[-1] * cell.mean_length
        grid_steps += steps
        # each bisection step evaluates one m below the cap
        bisect_steps += criteria * config.search.bisect * steps
        rows.append({**cell_row(cell, config), "grid": len(grid), "grid_steps": steps})
    plan = {"name": config.name, "run_id": config.run_id, "cells": len(all_cells),
            "instances": config.instances.count, "reps": config.instances.reps,
            "rep_blocks": blocks, "criteria": list(config.cells.criteria),
            "grid_tasks": len(all_cells) * per_cell_tasks,
            "bisect_tasks_at_most": len(all_cells) * criteria * config.search.bisect * per_cell_tasks,
            "grid_trajectory_steps": grid_steps, "bisect_trajectory_steps_at_most": bisect_steps,
            "cell_plan": rows}
    if calibrate and all_cells:
        plan.update(_calibrate(config, all_cells, rows, per_cell_tasks, blocks, criteria))
    return plan


CALIBRATION_CELLS = 12
CALIBRATION_REPS = 4


def _calibrate(config, all_cells, rows, per_cell_tasks, blocks, criteria) -> dict:
    """Time a 4-replicate grid task on up to 12 cells, shared among the plan's learners and
    spread over a cost proxy (S x H x k) within each; every other cell scales from the
    calibrated cell of its own learner nearest in the proxy. Learners differ in cost by more
    than the proxy says (MWAL's rounds against projection's iterations: a dry run calibrated on
    projection alone was 4.6x low for a sweep with MWAL)."""
    from .tasks import run_task  # the math it runs loads only when a task is calibrated

    def proxy(cell):
        return cell.family.S * cell.mean_length * cell.k

    learners: dict[str, list] = {}
    for i, cell in enumerate(all_cells):
        learners.setdefault(cell.algorithm, []).append(i)
    share = max(1, CALIBRATION_CELLS // len(learners))
    picks = set()
    for members in learners.values():
        order = sorted(members, key=lambda i: proxy(all_cells[i]))
        count = min(share, len(order))
        picks |= {order[round(j * (len(order) - 1) / max(1, count - 1))] for j in range(count)}
    picks = sorted(picks)
    reps = min(config.instances.reps, CALIBRATION_REPS)
    def grid_task(i):  # the cell's first grid task (instance 0, first replicate block)
        return next(iter_tasks(config, all_cells[i], grid_for(config, all_cells[i])))

    first = grid_task(picks[0])
    run_task(replace(first, reps=1, m=first.m[:1]))  # warm-up: JIT compilation, caches
    measured, total, points = {}, 0.0, {}
    for i in picks:
        task = replace(grid_task(i), reps=reps)
        t0 = time.perf_counter()
        out = run_task(task)
        measured[i] = time.perf_counter() - t0
        total += measured[i]
        # hull points the learner computed: each is k floats held until its row stops
        points[i] = sum(r["mean_iterations"] * r["reps"] for r in out) + len(out) * reps
    grid_seconds = bisect_seconds = peak = 0.0
    block = max(r for _, r in rep_blocks(config))
    for i, cell in enumerate(all_cells):
        nearest = min((j for j in measured if all_cells[j].algorithm == cell.algorithm),
                      key=lambda j: abs(proxy(all_cells[j]) - proxy(cell)))
        # a task's learner holds at most every hull point it computes (k float64 each) and the
        # estimates mu_hat, its replicates x grid x k
        peak = max(peak, 8.0 * cell.k * (points[nearest] * block / reps + 2 * block * rows[i]["grid"])
                   + 8.0 * cell.family.S ** 2 * cell.family.A)
        cell_seconds = (measured[nearest] * proxy(cell) / proxy(all_cells[nearest])
                        * config.instances.reps / reps * per_cell_tasks / blocks)
        grid_seconds += cell_seconds
        bisect_seconds += cell_seconds / rows[i]["grid"] * criteria * config.search.bisect
    return {"calibration_seconds": total, "calibration_reps": reps,
            "calibration_cells": len(picks), "estimated_seconds_grid": grid_seconds,
            "estimated_seconds_bisect_at_most": bisect_seconds,
            "estimated_peak_bytes_per_task": peak}
