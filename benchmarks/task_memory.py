"""Peak memory of one grid task of a config's k = 1000, gamma = 0.99 cell (its first instance and
replicate block x the whole grid), as a sweep runs it: a measurement for issue 48's memory
target, read from the process's maximum resident set (it prints the task's seconds, learner
row-iterations and outcomes; the peak comes from the shell):

    /usr/bin/time -v python benchmarks/task_memory.py examples/seed-table-decided-dense.toml
"""
import json
import sys
import time

from mcirl.sweep.config import load_config
from mcirl.sweep.plan import cells, grid_for, iter_tasks
from mcirl.sweep.tasks import run_task

config = load_config(sys.argv[1])
cell = next(c for c in cells(config) if c.k == 1000 and c.gamma == 0.99)
task = next(iter_tasks(config, cell, grid_for(config, cell)))
t0 = time.perf_counter()
rows = run_task(task)
print(json.dumps({"reps": task.reps, "m": list(task.m), "seconds": time.perf_counter() - t0,
                  "row_iterations": sum(r["mean_iterations"] * r["reps"] for r in rows),
                  "assured": [r["assured"] for r in rows], "undecided": [r["undecided"] for r in rows]}))
