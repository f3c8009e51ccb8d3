"""End-to-end sweeps: stored rows, resume after SIGKILL or Ctrl-C, Dask, export round trip."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mcirl.cli import main
from mcirl.sweep import execute
from mcirl.sweep.config import load_config
from mcirl.sweep.execute import InProcessExecutor, make_executor
from mcirl.sweep.runner import drive_sweep
from mcirl.store import Store
from tests.fake_cupy import assert_same_rows
from tests.sweep.configs import tiny_sweep

CONFIG = tiny_sweep()

RESULT_TABLES = ("cells", "estimates", "mstar")


@pytest.fixture(scope="module")
def config_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "sweep.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture(scope="module")
def reference_db(tmp_path_factory, config_path):
    """An uninterrupted in-process run."""
    db = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    with Store(db) as store:
        drive_sweep(load_config(config_path), store, InProcessExecutor())
    return db


def dump(db):
    """Every result row, without timings (which never reproduce)."""
    with Store(db) as store:
        run_id = store.resolve_run(None)
        return {t: store.table(t, run_id) for t in RESULT_TABLES}, store.runs()


def test_stored_rows_are_complete(reference_db):
    tables, runs = dump(reference_db)
    assert len(runs) == 1 and runs[0]["status"] == "done"
    assert len(tables["cells"]) == 2
    # two criteria x two cells x (pooled + 2 instances)
    assert len(tables["mstar"]) == 12
    for row in tables["estimates"]:
        assert 0 <= row["failures_theorem"] <= row["reps"] == 5
    pooled = [r for r in tables["mstar"] if r["instance"] == -1]
    # rows at the smallest m: whole rounds of one 5-replicate block per instance (sequential
    # replication may stop a point before its 120)
    assert all(r["reps"] <= 120 and r["reps"] % 10 == 0 for r in pooled)
    assert {r["status"] for r in pooled} <= {"found", "below_min", "above_cap"}


def tasks_stored(db):
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return con.execute("SELECT COUNT(*) FROM timings").fetchone()[0]
    except sqlite3.Error:
        return 0


def deliverable_sigint():
    """In the child, before exec: a shell's background job ignores SIGINT and a thread of the
    test process may have blocked it; children inherit both. Restore the default, unblocked."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def interrupted_sweep(db, config_path, sig, after_tasks=2, timeout=120):
    """Start a sweep in a subprocess and send it sig once a few tasks are stored; True when
    the signal landed mid-run, else why not."""
    proc = subprocess.Popen([sys.executable, "-m", "mcirl", "sweep", str(config_path), "--db",
                             str(db), "--quiet"], stderr=subprocess.PIPE, text=True,
                            preexec_fn=deliverable_sigint)
    deadline = time.time() + timeout
    while proc.poll() is None and tasks_stored(db) < after_tasks and time.time() < deadline:
        time.sleep(0.01)
    if proc.poll() is not None:
        _, err = proc.communicate()
        assert proc.returncode == 0, f"the sweep failed before it could be interrupted: {err}"
        return "finished before any task was seen stored"
    sent_at = tasks_stored(db)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    with Store(db) as store:
        (run,) = store.runs()
    if run["status"] == "done":  # the signal came after the last task: the run outran it
        return f"signal sent at {sent_at} tasks, run done anyway (rc {proc.returncode}, {err!r})"
    assert proc.returncode != 0 and "Traceback" not in err, err
    return proc.returncode


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT, signal.SIGTERM])
def test_killed_sweep_resumes_to_the_same_rows(tmp_path, capsys, config_path, reference_db, sig):
    """Ctrl-C and SIGTERM mark the run interrupted and exit with 128 + the signal's number,
    without a traceback; after SIGKILL the run still says 'running' in the file, and reads as
    interrupted because its writer is gone."""
    misses = []
    for attempt in range(3):  # the signal must land mid-run; a run that outran it is retried
        db = tmp_path / f"killed{attempt}.sqlite"
        outcome = interrupted_sweep(db, config_path, sig)
        if not isinstance(outcome, str):
            break
        misses.append(outcome)
    else:
        pytest.fail(f"the sweep could not be interrupted mid-run: {misses}")
    (full,) = dump(reference_db)[1]
    with Store(db) as store:
        (run,) = store.runs()
        assert 2 <= run["tasks"] < full["tasks"]
        assert run["status"] == "interrupted"
        assert outcome == (-signal.SIGKILL if sig == signal.SIGKILL else 128 + sig)
        stored = store.db.execute("SELECT status FROM runs").fetchone()[0]
        assert stored == ("running" if sig == signal.SIGKILL else "interrupted")
    # an unfinished run has no m*: show says so and how to finish it, not an empty table
    assert main(["results", "show", "--db", str(db)]) == 0
    assert f"holds no m* yet: {run['tasks']} tasks stored" in capsys.readouterr().out  # 2 <= tasks
    # without --resume the stored sweep is refused, untouched
    assert main(["sweep", str(config_path), "--db", str(db), "--quiet"]) == 2
    assert main(["sweep", str(config_path), "--db", str(db), "--resume", "--quiet"]) == 0
    resumed, runs = dump(db)
    expected, _ = dump(reference_db)
    assert resumed == expected
    assert len(runs) == 1 and runs[0]["status"] == "done"


def quiet_log(capsys):
    """(task lines, search lines) that --quiet wrote to stderr."""
    lines = capsys.readouterr().err.splitlines()
    return ([x for x in lines if x.startswith("mcirl: task ")],
            [x for x in lines if x.startswith("mcirl: search ")])


def test_rerun_in_another_database_reuses_nothing_and_matches(tmp_path, config_path, reference_db,
                                                              capsys):
    db = tmp_path / "again.sqlite"
    assert main(["sweep", str(config_path), "--db", str(db), "--quiet"]) == 0
    assert dump(db)[0] == dump(reference_db)[0]
    tasks, searches = quiet_log(capsys)
    (run,) = dump(db)[1]
    # --quiet logs every task as it finishes, numbered in order, none from the store
    assert [int(x.split()[2].split("/")[0]) for x in tasks] == list(range(1, run["tasks"] + 1))
    assert not any("from the store" in x for x in tasks)
    assert len(searches) == 4  # two cells x two criteria


def test_a_wider_sweep_reuses_stored_tasks(tmp_path, config_path, reference_db, capsys):
    db = tmp_path / "wider.sqlite"
    db.write_bytes(reference_db.read_bytes())
    wider = tmp_path / "wider.toml"
    wider.write_text(tiny_sweep("wider", (2, 3, 4)))
    assert main(["sweep", str(wider), "--db", str(db), "--quiet"]) == 0
    with Store(db) as store:
        runs = store.runs()
        assert len(runs) == 2
        new = store.resolve_run("wider")
        reused = store.db.execute("SELECT COUNT(*) FROM timings WHERE run_id = ? AND reused = 1",
                                  (new,)).fetchone()[0]
        assert reused > 0
        computed = store.db.execute("SELECT COUNT(*) FROM timings WHERE run_id = ? AND reused = 0",
                                    (new,)).fetchone()[0]
        tasks, _ = quiet_log(capsys)  # only computed tasks are logged, with the reused ones counted
        assert len(tasks) == computed and tasks[-1].endswith(f", {reused} from the store")
        old = {(r["cell_id"], r["criterion"], r["instance"]): r for r in store.table("mstar", runs[0]["run_id"])}
        for r in store.table("mstar", new):
            key = (r["cell_id"], r["criterion"], r["instance"])
            if key in old:
                assert {k: v for k, v in r.items() if k != "run_id"} == \
                       {k: v for k, v in old[key].items() if k != "run_id"}


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_rows(tmp_path, config_path, reference_db, monkeypatch):
    db = tmp_path / "dask.sqlite"
    # Two worker processes even where the machine has one core (--workers is capped at the cores).
    monkeypatch.setattr(execute, "_cores", lambda: 2)
    executor = make_executor(workers=2)
    try:
        with Store(db) as store:
            drive_sweep(load_config(config_path), store, executor)
    finally:
        executor.close()
    assert dump(db)[0] == dump(reference_db)[0]


WORKER_THREADS = '''
from mcirl.cli import main  # noqa: F401  the `mcirl` entry point imports Numba before any worker starts


def threads():
    import numba

    return numba.config.NUMBA_NUM_THREADS, numba.get_num_threads()


if __name__ == "__main__":
    from mcirl.sweep import execute

    execute._cores = lambda: 2
    executor = execute.make_executor(workers=2)
    try:
        print(sorted(executor.client.run(threads).values()), executor.client.submit(threads).result())
        from distributed.system import MEMORY_LIMIT

        print([w.memory_manager.memory_limit == MEMORY_LIMIT for w in executor.cluster.workers.values()])
    finally:
        executor.close()
    import os

    print(os.environ.get("NUMBA_NUM_THREADS"))  # the workers' setting did not leak into this process
'''


@pytest.mark.slow
def test_local_cluster_workers_run_one_numba_thread_and_may_use_the_memory(tmp_path):
    """N workers on N cores, each a single thread: a worker's Numba team is 1, also when the
    parent imported Numba first, as `mcirl sweep --workers` does (a LocalCluster's `env` came
    too late for that and each worker ran a 2-thread team on a 2-core machine). Each worker's
    memory limit is the machine's, not 1/N of it (a task's arrays cannot be spilled). The
    workers' NUMBA_NUM_THREADS does not leak into this process's environment (Dask's nanny set
    it there, and a later CUDA-simulator test in the same process failed: 'Cannot set
    NUMBA_NUM_THREADS to a different value once the threads have been launched')."""
    script = tmp_path / "threads.py"
    script.write_text(WORKER_THREADS)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                         timeout=300, check=True).stdout
    assert out.split("\n")[-4:-1] == ["[(1, 1), (1, 1)] (1, 1)", "[True, True]", "None"], out


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_round_trip(tmp_path, reference_db, capsys, fmt):
    """Every stored column comes back; cells' parameters are joined onto each row; the pooled
    curves sum the estimates; the elbow tables, empty here, still have their headers."""
    import pandas as pd

    from mcirl.results import CELL_PARAMETERS, FRAMES
    from mcirl.store import TABLE

    out = tmp_path / "export"
    assert main(["results", "export", "--db", str(reference_db), "--format", fmt, "-o", str(out)]) == 0
    read = pd.read_parquet if fmt == "parquet" else pd.read_csv
    back = {name: read(out / f"{name}.{fmt}") for name in FRAMES}
    with Store(reference_db) as store:
        run_id = store.resolve_run(None)
        cells = {c["cell_id"]: c for c in store.table("cells", run_id)}
        for table in ("cells", "estimates", "mstar", "timings"):
            rows = pd.DataFrame(store.table(table, run_id))
            got = back[table]
            assert set(TABLE[table].names) <= set(got.columns), table
            for column in rows.columns:
                if column in ("config", "spec"):
                    continue
                want, have = rows[column].tolist(), got[column].tolist()
                assert [None if pd.isna(v) else v for v in have] == [None if pd.isna(v) else v for v in want], (
                    table, column)
            if table != "timings":
                assert set(CELL_PARAMETERS) <= set(got.columns)
                assert set(got["run_name"]) == {"resume-test"}
                for _, row in got.iterrows():
                    assert (row["k"], row["gamma"], row["A"]) == (cells[row["cell_id"]]["k"],
                                                                  cells[row["cell_id"]]["gamma"], 2)
        estimates = pd.DataFrame(store.table("estimates", run_id))
    pooled = estimates.groupby(["cell_id", "m"])[["reps", "failures_theorem"]].sum()
    curves = back["curves"][back["curves"]["criterion"] == "theorem"].set_index(["cell_id", "m"])
    assert (curves.loc[pooled.index, "failures"] == pooled["failures_theorem"]).all()
    assert (curves.loc[pooled.index, "reps"] == pooled["reps"]).all()
    assert ((curves["ci_low"] <= curves["rate"]) & (curves["rate"] <= curves["ci_high"])).all()
    for name in ("elbow_curves", "elbows"):
        assert back[name].empty and list(back[name].columns) == list(TABLE[name].names)
    assert back["runs"]["config"].map(lambda text: json.loads(text)["name"]).tolist() == ["resume-test"]


def test_frames_select_runs_and_refuse_bad_ones(reference_db):
    from mcirl.errors import InputError
    from mcirl.results import frames

    every = frames(reference_db)
    assert frames(reference_db, runs="resume-test")["curves"].equals(every["curves"])
    assert every["runs"]["started"].dt.tz is not None and isinstance(every["runs"]["config"][0], dict)
    with pytest.raises(InputError, match="run"):
        frames(reference_db, runs=["nosuchrun"])
    with pytest.raises(InputError, match="db"):
        frames(reference_db.parent / "none.sqlite")


def test_results_list_and_show(capsys, reference_db):
    import json

    assert main(["results", "list", "--db", str(reference_db)]) == 0
    assert "resume-" in capsys.readouterr().out
    assert main(["results", "list", "--db", str(reference_db), "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["resume-test"]
    assert main(["results", "show", "resume-test", "--db", str(reference_db), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert len(shown["mstar"]) == 12
    assert main(["results", "show", "--db", str(reference_db), "--estimates"]) == 0
    assert main(["results", "show", "nosuchrun", "--db", str(reference_db)]) == 2
    assert main(["results", "list", "--db", str(reference_db.parent / "none.sqlite")]) == 2


def test_dry_run_plan(capsys, config_path):
    assert main(["sweep", str(config_path), "--dry-run", "--json"]) == 0
    import json

    plan = json.loads(capsys.readouterr().out)
    assert plan["cells"] == 2 and plan["grid_tasks"] == 2 * 2 * 12
    assert plan["estimated_seconds_grid"] > 0 and plan["grid_trajectory_steps"] > 0
    assert main(["sweep", str(config_path), "--dry-run", "--no-calibrate"]) == 0
    assert "tasks: 48 for the grids" in capsys.readouterr().out


def test_a_sweep_over_both_trajectory_lengths(tmp_path, capsys):
    """Geometric lengths are cells of their own: stored with their lengths and no horizon,
    searched separately, and told apart in every table, figure and report."""
    import json

    config = tmp_path / "lengths.toml"
    config.write_text(tiny_sweep("lengths", (2,), ("truncated", "geometric")))
    db = tmp_path / "lengths.sqlite"
    assert main(["sweep", str(config), "--dry-run", "--no-calibrate", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["cell_plan"]
    assert [(c["lengths"], c["horizon"]) for c in plan] == [("truncated", 43), ("geometric", None)]
    assert main(["sweep", str(config), "--db", str(db), "--quiet", "--json"]) == 0
    pooled = [r for r in json.loads(capsys.readouterr().out)["mstar"] if r["instance"] == -1]
    assert sorted(r["lengths"] for r in pooled) == ["geometric"] * 2 + ["truncated"] * 2
    with Store(db) as store:
        run_id = store.resolve_run(None)
        cells = {c["cell_id"]: c for c in store.table("cells", run_id)}
        estimates = store.table("estimates", run_id)
    by_lengths = {c["lengths"]: c["cell_id"] for c in cells.values()}
    assert {e["horizon"] for e in estimates if e["cell_id"] == by_lengths["geometric"]} == {None}
    assert {e["horizon"] for e in estimates if e["cell_id"] == by_lengths["truncated"]} == {43}
    assert main(["results", "show", "--db", str(db), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["mstar"]
    assert {r["lengths"] for r in shown} == {"truncated", "geometric"}
    report = tmp_path / "report.md"
    assert main(["report", "--db", str(db), "-o", str(report)]) == 0
    text = report.read_text()
    assert "projection (geometric lengths)" in text
    # the comparison table pairs the two cells: its ratio is the stored m*s'
    star = {r["lengths"]: r["m_star"] for r in pooled if r["criterion"] == "theorem"}
    section = text.split("## Truncated vs geometric trajectory lengths")[1].split("## ")[0]
    (row,) = [line for line in section.splitlines() if line.startswith("| onehot |")]
    assert row.endswith(f"| {star['geometric'] / star['truncated']:.3g}x |")


def test_executor_option_errors(capsys, config_path):
    code = main(["sweep", str(config_path), "--workers", "2", "--scheduler", "tcp://x:1"])
    assert code == 2 and "cannot be combined" in capsys.readouterr().err
    # more workers than cores (1e30 of them exhausted the memory), an address without a port
    for option, value, needle in (("--workers", "1e30", "--workers: must be an integer in [1, "),
                                  ("--scheduler", "bogus", "--scheduler: is not a Dask scheduler"),
                                  ("--scheduler", "tcp://127.0.0.1:1", "--scheduler: cannot reach")):
        assert main(["sweep", str(config_path), option, value, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    # a dry run refuses what the run refuses (it accepted all of these before)
    for option, value, needle in (("--workers", "0", "--workers: must be an integer in [1, "),
                                  ("--workers", "999", "--workers: must be an integer in [1, "),
                                  ("--gpus", "3", "--gpus: must be 'all'"),
                                  ("--scheduler", "garbage", "--scheduler: is not a Dask")):
        assert main(["sweep", str(config_path), "--dry-run", "--no-calibrate", option, value]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err


@pytest.mark.slow
def test_scheduler_address_joins_an_existing_cluster(tmp_path):
    from distributed import LocalCluster

    config = load_config(Path(__file__).parents[2] / "examples" / "tiny.toml")
    with Store(tmp_path / "local.sqlite") as store:
        local = store.table("mstar", drive_sweep(config, store, InProcessExecutor()))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster:
        executor = make_executor(scheduler=cluster.scheduler_address)
        try:
            with Store(tmp_path / "remote.sqlite") as store:
                remote = store.table("mstar", drive_sweep(config, store, executor))
        finally:
            executor.close()
    assert remote == local


TINY = """
name = "gpu-glue"
seed = 3
backend = "{backend}"
[mdp]
S = 10
A = 2
b = 3
[cells]
k = [2]
gamma = [0.5]
eps = 0.2
delta = 0.1
[instances]
count = 1
reps = 4
[search]
factor = 8
cap = 64
bisect = 1
sampler = "counts"
max_iter = 50
"""


def test_a_gpu_backend_sweep_stores_the_cpu_results(tmp_path, fake_cupy):
    """A sweep with backend = "gpu" (tests/fake_cupy.py for CuPy, the CUDA simulator for the
    kernels) stores what the CPU run stores, and says in its runs row that it ran on the GPU."""
    results = {}
    for backend in ("cpu", "gpu"):
        path = tmp_path / f"{backend}.toml"
        path.write_text(TINY.format(backend=backend))
        db = tmp_path / f"{backend}.sqlite"
        assert main(["sweep", str(path), "--db", str(db), "--quiet"]) == 0
        results[backend] = dump(db)
    (gpu, gpu_runs), (cpu, cpu_runs) = results["gpu"], results["cpu"]
    assert gpu_runs[0]["device"] == "gpu: fake_cupy" and cpu_runs[0]["device"].startswith("cpu")
    assert cpu["estimates"] and cpu["mstar"]
    for table in RESULT_TABLES:  # the content keys and run ids hash the backend: they differ
        assert_same_rows(gpu[table], cpu[table], skip=("run_id", "key", "cell_id"))
    # `--backend gpu` on the CPU config is the GPU config's run: same run id, same rows.
    db = tmp_path / "override.sqlite"
    assert main(["sweep", str(tmp_path / "cpu.toml"), "--backend", "gpu", "--db", str(db),
                 "--quiet"]) == 0
    override, override_runs = dump(db)
    assert override_runs[0]["run_id"] == gpu_runs[0]["run_id"]
    assert override_runs[0]["device"] == "gpu: fake_cupy"
    for table in RESULT_TABLES:
        assert_same_rows(override[table], gpu[table])


def test_sweep_backend_gpu_without_a_gpu_is_one_line_and_stores_nothing(
        tmp_path, capsys, monkeypatch, config_path, reference_db):
    import shutil

    from mcirl import backend

    monkeypatch.setattr(backend, "gpu_missing", lambda: "no CUDA device is visible")
    db = tmp_path / "kept.sqlite"
    shutil.copy(reference_db, db)
    before = db.read_bytes()
    for extra in ([], ["--dry-run"]):
        assert main(["sweep", str(config_path), "--backend", "gpu", "--db", str(db), *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no CUDA device is visible" in err and "mcirl[gpu]" in err
    assert db.read_bytes() == before


def test_a_cap_past_m_max_for_some_cell_is_one_line_and_stores_nothing(
        tmp_path, capsys, config_path, reference_db):
    """'bound*X' passes the config check (X m_AN <= 1e15 for m_AN = 1) but not every cell's
    plan: the error comes before the run is registered, so the database is left as it was."""
    import shutil

    db = tmp_path / "kept.sqlite"
    shutil.copy(reference_db, db)
    before = db.read_bytes()
    big = tmp_path / "big.toml"
    big.write_text(config_path.read_text().replace("[search]", '[search]\ncap = "bound*1e14"'))
    for extra in ([], ["--dry-run"]):
        assert main(["sweep", str(big), "--db", str(db), "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "search.cap: must come to at most 1e15" in err
    assert db.read_bytes() == before


def test_mstar_is_stored_twice_and_the_optimistic_one_is_the_counts_without_undecided(tmp_path):
    """With the certificate off and a tiny cap many rows are undecided: the stored optimistic
    m* is sample_complexity of the stored counts less the undecided rows, and the two differ;
    with the certificate (default) the same cells' m* does not depend on the cap."""
    from mcirl.results import cap_sensitive
    from mcirl.stats import sample_complexity

    text = tiny_sweep("caps", k=(2,)).replace("max_iter = 400", "max_iter = 3")
    path = tmp_path / "caps.toml"
    path.write_text(text)
    config = load_config(path).with_learner("segment", "off")
    db = tmp_path / "caps.sqlite"
    with Store(db) as store:
        run_id = drive_sweep(config, store, InProcessExecutor())
        estimates, mstar = store.table("estimates", run_id), store.table("mstar", run_id)
        certified = drive_sweep(load_config(path), store, InProcessExecutor())
        certified_mstar = store.table("mstar", certified)
    assert sum(e["undecided"] for e in estimates) > 0 and all(e["certified"] == 0 for e in estimates)
    for row in mstar:
        at = [e for e in estimates if e["instance"] == row["instance"] or row["instance"] == -1]
        ms = sorted({e["m"] for e in at})
        fails = [sum(e[f"failures_{row['criterion']}"] - e["undecided"] for e in at if e["m"] == m)
                 for m in ms]
        reps = [sum(e["reps"] for e in at if e["m"] == m) for m in ms]
        expected = sample_complexity(ms, fails, reps, 0.1)
        assert (row["status_optimistic"], row["m_star_optimistic"], row["m_lo_optimistic"],
                row["m_hi_optimistic"]) == (expected.status, expected.m_star, expected.m_lo,
                                            expected.m_hi)
    assert any(cap_sensitive(r) for r in mstar)
    assert sum(cap_sensitive(r) for r in certified_mstar) < sum(cap_sensitive(r) for r in mstar)


@pytest.mark.slow
def test_a_second_writer_of_a_live_run_is_refused(tmp_path):
    """While one process sweeps, `--resume` of the same run in another is refused in one line
    naming the writer (it used to run a second writer doing the same work twice)."""
    config_path = tmp_path / "long.toml"  # minutes of work: it is killed once checked
    config_path.write_text(tiny_sweep("live").replace("reps = 60", "reps = 20000"))
    db = tmp_path / "live.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "mcirl", "sweep", str(config_path), "--db",
                             str(db), "--quiet"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while tasks_stored(db) < 1 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        if proc.poll() is not None:
            pytest.skip("the sweep ended before a second writer could try")
        code = subprocess.run([sys.executable, "-m", "mcirl", "sweep", str(config_path), "--db",
                               str(db), "--resume", "--quiet"], capture_output=True, text=True)
        assert proc.poll() is None, "the first writer ended: the check saw no live writer"
        assert code.returncode == 2 and code.stderr.count("\n") == 1, code.stderr
        assert f"is being written by process {proc.pid}" in code.stderr
    finally:
        proc.kill()
        proc.wait()
    # the writer is gone now: the run reads as interrupted and may be resumed
    with Store(db) as store:
        (run,) = store.runs()
        assert run["status"] == "interrupted"
        store.start_run(run["run_id"], run["name"], {}, {}, resume=True)


def test_planned_tasks_and_horizons_past_their_limits_are_refused_before_any_work(
        tmp_path, capsys, config_path):
    """Issue 30: 2^31 - 1 instances planned 1.7e10 tasks in a dry run that exited 0, and a
    gamma next to 1 started trajectories millions of steps long; both are one line now, in the
    dry run as in the run, and the override flags lift them."""
    db = tmp_path / "r.sqlite"
    many = tmp_path / "many.toml"
    many.write_text(config_path.read_text().replace("count = 2", "count = 2147483647"))
    for extra in ([], ["--dry-run"]):
        assert main(["sweep", str(many), "--db", str(db), "--quiet", *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "instances.count: plans" in err and "--max-tasks" in err
    assert not db.exists()
    assert main(["sweep", str(config_path), "--db", str(db), "--dry-run", "--no-calibrate",
                 "--max-horizon", "5", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcirl: error: gamma: implies a horizon H =") and "--max-horizon" in err
    assert main(["sweep", str(config_path), "--db", str(db), "--dry-run", "--no-calibrate",
                 "--json"]) == 0
    capsys.readouterr()
    assert main(["estimate", "--S", "8", "--k", "2", "--gamma", "0.9999999", "--m", "5",
                 "--reps", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcirl: error: --gamma: implies a horizon H = 256,750,084 steps"), err
    assert main(["estimate", "--S", "8", "--k", "2", "--gamma", "0.9", "--m", "5", "--reps", "2",
                 "--max-horizon", "10", "--quiet"]) == 2
    assert "at most 10 " in capsys.readouterr().err


def _points(db):
    """{(k, m): {criterion: (failures, rows)}} pooled over instances and tasks."""
    with Store(db) as store:
        run_id = store.resolve_run(None)
        cells = {c["cell_id"]: c["k"] for c in store.table("cells", run_id)}
        out = {}
        for row in store.table("estimates", run_id):
            point = out.setdefault((cells[row["cell_id"]], row["m"]), {})
            for crit in ("theorem", "regret"):
                f, n = point.get(crit, (0, 0))
                point[crit] = (f + row[f"failures_{crit}"], n + row["reps"])
        return out


def test_sequential_points_stop_once_decided_and_full_points_match_a_fixed_sample(
        tmp_path, config_path, reference_db):
    """Issue 48, item 2: the tiny sweep (2 instances x 60 replicates in blocks of 5, sequential
    by default) stops each point once both criteria's confidence sequences exclude delta; a
    point that runs all its replicates has exactly the counts of the same sweep without
    sequential replication."""
    from mcirl.stats import decided

    fixed_config = tmp_path / "fixed.toml"
    fixed_config.write_text(CONFIG.replace("max_iter = 400", "max_iter = 400\nsequential = false"))
    fixed = tmp_path / "fixed.sqlite"
    with Store(fixed) as store:
        drive_sweep(load_config(fixed_config), store, InProcessExecutor())
    sequential, whole = _points(reference_db), _points(fixed)
    stopped = [p for p, counts in sequential.items() if counts["theorem"][1] < 120]
    full = [p for p, counts in sequential.items() if counts["theorem"][1] == 120]
    assert stopped and full
    for point in stopped:  # decided, after whole rounds
        counts = sequential[point]
        assert all(decided(*counts[c], 0.1) for c in counts)
        assert all(n % 10 == 0 for _, n in counts.values())
    compared = [p for p in full if p in whole]
    assert compared
    for point in compared:
        assert sequential[point] == whole[point]
    assert sum(c["theorem"][1] for c in sequential.values()) < sum(c["theorem"][1] for c in whole.values())


def test_dry_run_states_peak_memory_and_refuses_a_plan_the_machine_cannot_hold(
        capsys, config_path, monkeypatch):
    """Issue 48, item 3: the calibration's expected peak memory per task is stated, and a plan
    whose tasks (one per worker at once) would not fit is refused in one line, exit 2."""
    assert main(["sweep", str(config_path), "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    peak = plan["estimated_peak_bytes_per_task"]
    assert 0 < peak < 2**30
    monkeypatch.setattr("mcirl.cli.sweep._machine_bytes", lambda: int(1.5 * peak))
    assert main(["sweep", str(config_path), "--dry-run", "--quiet"]) == 0
    assert main(["sweep", str(config_path), "--dry-run", "--workers", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "instances.reps_per_task: must be lower" in err


def test_a_scheduler_address_that_never_answers_ends_in_one_line(tmp_path, capsys, monkeypatch):
    """--scheduler pointed at a port that accepts the connection and never speaks Dask (an
    HTTP server) hung forever despite Dask's 20 s timeout; it now ends in one line."""
    import socket
    import threading

    pytest.importorskip("distributed")
    from mcirl.sweep import execute

    monkeypatch.setattr(execute, "SCHEDULER_SECONDS", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    try:
        code = main(["sweep", str(config), "--db", str(tmp_path / "r.sqlite"), "--scheduler",
                     f"tcp://127.0.0.1:{server.getsockname()[1]}"])
    finally:
        server.close()
    assert code == 2
    err = capsys.readouterr().err
    assert "did not answer as a Dask scheduler within 1 s" in err and len(err.strip().splitlines()) == 1


class FakeClient:
    """A Dask client whose every submitted task is ``future`` and whose scheduler reports
    ``workers`` workers: a cluster's failures, delivered deterministically."""

    def __init__(self, future, workers=1):
        self.future, self.workers = future, workers

    def submit(self, *args, **kwargs):
        return self.future

    def scheduler_info(self):
        return {"workers": dict.fromkeys(range(self.workers))}

    def close(self):
        pass


class FakeDone:
    """distributed.as_completed over the fake futures: each is ready at once, or never."""

    def __init__(self, ready: bool):
        self.ready, self.futures = ready, []

    def add(self, future):
        self.futures.append(future)

    def has_ready(self):
        return self.ready and bool(self.futures)

    def __next__(self):
        return self.futures.pop(0)


def sweep_on_a_fake_cluster(tmp_path, monkeypatch, client, done, address):
    """Run the tiny sweep through a DaskExecutor on a fake client; returns (exit code, the
    last stderr line)."""
    from mcirl.sweep import execute

    executor = execute.DaskExecutor.__new__(execute.DaskExecutor)
    executor.client, executor.cluster, executor.description = client, None, f"dask scheduler {address}"
    executor._futures, executor._done = {}, done
    monkeypatch.setattr(execute, "make_executor", lambda *a, **k: executor)
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    return main(["sweep", str(config), "--db", str(tmp_path / "r.sqlite"), "--quiet"])


def test_a_cluster_that_cancels_the_tasks_ends_in_one_line(tmp_path, capsys, monkeypatch):
    """A scheduler killed mid-sweep cancels the client's futures: the sweep ends in one line
    naming the resume (it was a FutureCancelledError traceback), the stored tasks kept."""
    pytest.importorskip("distributed")
    from distributed.client import FutureCancelledError

    class Cancelled:
        def result(self):
            raise FutureCancelledError("mcirl-task-x", "scheduler-connection-lost")

        def cancel(self):
            pass

    assert sweep_on_a_fake_cluster(tmp_path, monkeypatch, FakeClient(Cancelled()), FakeDone(True),
                                   "tcp://gone:8786") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mcirl: error: --scheduler: dask scheduler tcp://gone:8786: the cluster "
                              "cancelled") and "--resume" in err[-1]


def test_a_cluster_without_workers_says_so_then_ends_in_one_line(tmp_path, capsys, monkeypatch):
    """A resume against a scheduler whose workers have all exited waited silently; now it says
    the cluster has no workers, and after WORKERLESS_SECONDS ends in one line naming --resume."""
    pytest.importorskip("distributed")
    from mcirl.sweep import execute

    monkeypatch.setattr(execute, "TICK", 0.001)
    monkeypatch.setattr(execute, "WORKER_CHECK", 0.01)
    monkeypatch.setattr(execute, "WORKERLESS_SECONDS", 0.05)

    class Pending:
        def cancel(self):
            pass

    assert sweep_on_a_fake_cluster(tmp_path, monkeypatch, FakeClient(Pending(), workers=0),
                                   FakeDone(False), "tcp://idle:8786") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert sum("has no workers; waiting for one to join" in line for line in err) == 1
    assert err[-1].startswith("mcirl: error: --scheduler: dask scheduler tcp://idle:8786: no worker "
                              "joined") and "--resume" in err[-1]
