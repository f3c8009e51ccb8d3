"""The results store: one SQLite file (stdlib sqlite3, WAL), append-only and idempotent.

Tables:
  runs       one row per sweep config (run_id = content hash of the config), with metadata
  cells      the cells of a run: family, features, k, gamma, S, algorithm, eps, delta, H, bound
  estimates  one row per (task, m): failures per criterion, non-terminations, iterations, H
  mstar      m* with [m_lo, m_hi] per (cell, criterion), per instance and pooled (instance -1)
  timings    seconds and host of every computed task (kept apart: they never reproduce)

Each table is declared once (:data:`SCHEMA_TABLES`: columns, key, read order); the SQL, the
column lists and the migrations are generated from it: a database written by an older mcirl
gains, when opened, every column it lacks (a new criterion's failure counts included).

Each task's rows are written in one transaction keyed by the task's content hash, with
INSERT OR IGNORE, so a sweep killed at any moment and resumed ends with exactly the rows of an
uninterrupted run.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, check_choice
from ..learn.criteria import CRITERIA
from ..output import output_dir

DEFAULT_DB = "mcirl-results.sqlite"

@dataclass(frozen=True)
class Table:
    """One table of the store, declared once: its columns (name, SQL type) in order, its
    primary key and the order reads return its rows in.

    A column an older database lacks is added on open (:func:`_migrate`), NULL or its
    DEFAULT in the rows already there; so every column but the key and those every mcirl
    database has held (:data:`REQUIRED_COLUMNS`) must allow that: nullable, or NOT NULL with
    a DEFAULT (:meth:`migratable`, checked by the tests)."""

    name: str
    columns: tuple
    key: tuple
    order: str

    @property
    def names(self) -> tuple:
        return tuple(name for name, _ in self.columns)

    @property
    def sql(self) -> str:
        body = ", ".join(f"{name} {kind}" for name, kind in self.columns)
        return f"CREATE TABLE IF NOT EXISTS {self.name} ({body}, PRIMARY KEY ({', '.join(self.key)}));"

    def kind(self, column: str) -> str:
        return dict(self.columns)[column]

    def migratable(self, column: str) -> bool:
        """Whether the column is one an older database may lack and ALTER TABLE can add to a
        table with rows (SQLite refuses a NOT NULL column without a DEFAULT)."""
        kind = self.kind(column).upper()
        always = column in self.key or column in REQUIRED_COLUMNS.get(self.name, ())
        return always or "NOT NULL" not in kind or "DEFAULT" in kind


def _cols(text: str, kind: str) -> list:
    """[(name, kind)] for the space-separated names of text."""
    return [(name, kind) for name in text.split()]


NOT_NULL = "TEXT NOT NULL"
#: Every table, in the order merges and exports walk them. The failure counts are one column
#: per criterion of mcirl.learn.CRITERIA.
SCHEMA_TABLES = (
    Table("runs", (("run_id", "TEXT"), ("name", NOT_NULL), ("config", NOT_NULL),
                   *_cols("package_version git_sha host device", "TEXT"),
                   *_cols("started finished", "REAL"), ("status", NOT_NULL),
                   ("seconds", "REAL"), ("writer", "TEXT"), ("environment", "TEXT"), ("heartbeat", "REAL")),
          key=("run_id",), order="run_id"),
    Table("cells", (("run_id", NOT_NULL), ("cell_id", NOT_NULL), *_cols("family features", "TEXT"),
                    ("k", "INTEGER"), ("gamma", "REAL"), ("S", "INTEGER"), ("algorithm", "TEXT"),
                    *_cols("eps delta", "REAL"), ("horizon", "INTEGER"), ("bound", "REAL"),
                    ("cap", "INTEGER"), ("spec", "TEXT"),
                    ("lengths", "TEXT NOT NULL DEFAULT 'truncated'"),
                    ("projection_step", "TEXT NOT NULL DEFAULT 'line'"),
                    ("certificate", "TEXT NOT NULL DEFAULT 'off'")),
          key=("run_id", "cell_id"), order="cell_id"),
    Table("estimates", (("run_id", NOT_NULL), ("key", NOT_NULL), ("cell_id", NOT_NULL),
                        *_cols("instance m rep_start reps", "INTEGER NOT NULL"),
                        *((f"failures_{c}", "INTEGER") for c in CRITERIA),
                        ("nonterminated", "INTEGER"),
                        *_cols("mean_iterations mean_regret mean_performance variance", "REAL"),
                        *_cols("terminated certified undecided terminated_far", "INTEGER"),
                        ("max_gap", "REAL"), ("horizon", "INTEGER"), ("bound", "REAL"),
                        *_cols("sampler design", "TEXT"), *_cols("seed mdp_seed", "INTEGER"),
                        ("assured", "INTEGER"), ("max_assured_margin", "REAL")),
          key=("run_id", "key", "m"), order="cell_id, instance, m, rep_start"),
    Table("mstar", (("run_id", NOT_NULL), ("cell_id", NOT_NULL), ("criterion", NOT_NULL),
                    ("instance", "INTEGER NOT NULL"), ("status", "TEXT"),
                    *_cols("m_star m_lo m_hi cap reps evaluated", "INTEGER"),
                    ("status_optimistic", "TEXT"),
                    *_cols("m_star_optimistic m_lo_optimistic m_hi_optimistic", "INTEGER")),
          key=("run_id", "cell_id", "criterion", "instance"), order="cell_id, criterion, instance"),
    Table("timings", (("run_id", NOT_NULL), ("key", NOT_NULL),
                      *_cols("seconds_sample seconds_learn seconds_total", "REAL"), ("host", "TEXT"),
                      ("reused", "INTEGER"), ("finished", "REAL")),
          key=("run_id", "key"), order="key"),
    Table("elbow_curves", (("run_id", NOT_NULL), *_cols("k d", "INTEGER"), ("noise", "REAL"),
                           *_cols("rank n reps", "INTEGER"),
                           *_cols("accuracy accuracy_sd logloss bayes_accuracy bayes_logloss", "REAL"),
                           ("unconverged", "INTEGER"), ("ridge", "REAL")),
          key=("run_id", "k", "noise", "rank", "n"), order="k, noise, rank, n"),
    Table("elbows", (("run_id", NOT_NULL), *_cols("k d", "INTEGER"), ("noise", "REAL"),
                     ("rank", "INTEGER"), *_cols("n_elbow n_low n_high", "REAL"), ("method", "TEXT"),
                     *_cols("status draws", "TEXT")),
          key=("run_id", "k", "noise", "rank"), order="k, noise, rank"),
)
TABLE = {t.name: t for t in SCHEMA_TABLES}
TABLES = tuple(TABLE)
SCHEMA = "\n".join([t.sql for t in SCHEMA_TABLES]
                   + ["CREATE INDEX IF NOT EXISTS timings_by_key ON timings (key);"])
ESTIMATE_COLUMNS = TABLE["estimates"].names
TIMING_COLUMNS = TABLE["timings"].names
CELL_COLUMNS = TABLE["cells"].names
MSTAR_COLUMNS = TABLE["mstar"].names
ELBOW_CURVE_COLUMNS = TABLE["elbow_curves"].names
ELBOW_COLUMNS = TABLE["elbows"].names


#: SQLite's application_id (header bytes 68-71) of an mcirl results database: "mcrl".
APPLICATION_ID = 0x6D63726C
#: What a database written before the stamp must hold to be taken for an mcirl one.
REQUIRED_COLUMNS = {"runs": {"run_id", "name", "config", "status"},
                    "cells": {"run_id", "cell_id", "family", "k", "gamma", "eps", "delta"},
                    "estimates": {"run_id", "key", "cell_id", "instance", "m", "rep_start", "reps"}}


def identify(path: Path, field: str = "db") -> str:
    """"new" (no file, or an empty one: nothing to keep) or "mcirl" (stamped with
    APPLICATION_ID, or unstamped with mcirl's tables and columns), read-only; anything else is
    an InputError naming ``field``, the file left as it was."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return "new"
    if not path.is_file():
        raise InputError(field, "must be a results database file, not a folder", str(path))
    try:
        con = _readonly(path)
        try:
            stamp = con.execute("PRAGMA application_id").fetchone()[0]
            columns = {t: {r[1] for r in con.execute(f"PRAGMA table_info({t})")}
                       for t in REQUIRED_COLUMNS}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise InputError(field, f"cannot open as an mcirl SQLite database ({exc}); it is left "
                         "as it was", str(path)) from None
    if stamp == APPLICATION_ID:
        return "mcirl"
    if stamp == 0 and all(need <= columns[t] for t, need in REQUIRED_COLUMNS.items()):
        return "mcirl"
    raise InputError(field, "is an SQLite database of something else (neither stamped as "
                     "mcirl's nor holding its tables); it is left as it was", str(path))


def _check_writable(path: Path, field: str) -> None:
    """Refuse, before SQLite opens it, a database this process cannot write: a read-only file,
    or a folder where its WAL's -wal and -shm files cannot be made (SQLite would open it,
    leave those files beside it and fail at the first write)."""
    for target, what in ((path, "the file is read-only"), (path.parent, "its folder is read-only")):
        if not os.access(target, os.W_OK):
            raise InputError(field, f"cannot be written ({what}); the commands that only read "
                             "open it as it is, and a copy in a writable folder can be resumed", str(path))


def _readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write path, and leaves nothing beside it.

    With no -wal file beside it (no writer has it open, everything is checkpointed) the file is
    all there is: it is opened immutable=1, which takes no locks and creates no -shm or -wal
    file, so it works on read-only media too. Otherwise (a sweep is writing it) mode=ro reads
    the WAL's committed transactions too, through the -shm file the writer keeps.
    """
    uri = path.resolve().as_uri()
    if not Path(f"{path}-wal").exists():
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, timeout=30)
    return sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)


#: PRAGMA user_version of the databases this code writes. Version 1: a cell's certificate
#: "failure" is what version 0 stored as "on" (the failure certificate was the only one then);
#: :func:`_migrate` rewrites such rows.
SCHEMA_VERSION = 1


def _outdated(con: sqlite3.Connection) -> bool:
    """Whether a database lacks a table or column of the current schema, or predates
    SCHEMA_VERSION (an older mcirl wrote it)."""
    return con.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION or any(
        not set(t.names) <= {r[1] for r in con.execute(f"PRAGMA table_info({t.name})")}
        for t in SCHEMA_TABLES)


def _migrate(con: sqlite3.Connection) -> None:
    """Bring a database written by an older mcirl to the current schema, in one transaction:
    every missing table, every missing column (a new criterion's failure counts included;
    NULL in the rows already there, or the column's DEFAULT: cells' lengths read
    "truncated", projection_step "line" and certificate "off", what there was), and the
    values SCHEMA_VERSION renamed."""
    with con:
        con.executescript(SCHEMA)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        for table in SCHEMA_TABLES:
            have = {r[1] for r in con.execute(f"PRAGMA table_info({table.name})")}
            for column in table.names:
                if column not in have:
                    con.execute(f"ALTER TABLE {table.name} ADD COLUMN {column} {table.kind(column)}")
        if version < 1:
            con.execute("UPDATE cells SET certificate = 'failure' WHERE certificate = 'on'")
        if version < SCHEMA_VERSION:
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _current_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection (:func:`_readonly`) to an mcirl database, migrated to the current
    schema in an in-memory copy when an older mcirl wrote it: the file is never changed."""
    con = _readonly(path)
    if _outdated(con):
        memory = sqlite3.connect(":memory:")
        con.backup(memory)
        con.close()
        con = memory
        _migrate(con)
    con.row_factory = sqlite3.Row
    return con


class Store:
    """A results database; the sweep's client is its only writer."""

    def __init__(self, path: str | Path = DEFAULT_DB, readonly: bool = False, field: str = "db"):
        """Open (or, unless readonly, create) the results database at path.

        A file that exists is opened only once it is known for an mcirl database
        (:func:`identify`, read-only); anything else is refused with its bytes and journal mode
        untouched. ``readonly`` (the commands that only read) never writes the file: it opens
        as :func:`_readonly` says, and an older database that needs the current columns is
        read from an in-memory copy.
        """
        self.path = Path(path)
        try:
            kind = identify(self.path, field)
            if readonly:
                if kind == "new":
                    raise InputError(field, "no such results database", str(path))
                self.db = _current_reader(self.path)
                return
            if kind == "new":  # one policy for every output: missing folders are made
                output_dir(self.path.parent, field)
            else:
                _check_writable(self.path, field)
            self.db = sqlite3.connect(self.path, timeout=30)
            self.db.row_factory = sqlite3.Row
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed task survives the process being killed at any moment
            # (only a power cut can lose the last commits), without an fsync per task.
            self.db.execute("PRAGMA synchronous=NORMAL")
            _migrate(self.db)
            if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # ours: stamp it
        except sqlite3.DatabaseError as exc:
            raise InputError(field, f"cannot open as an mcirl SQLite database ({exc})", str(path)) from None

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def keep_alive(self, run_id: str, beat: float | None = None):
        """Renew this process's lease on run_id every ``beat`` seconds (LEASE_BEAT) while the
        block runs, from a thread with its own connection, so that another host sees a live
        writer even while one task computes for an hour."""
        import threading

        stop = threading.Event()
        me = writer_token()

        def renew():
            con = sqlite3.connect(self.path, timeout=30)
            try:
                while not stop.wait(LEASE_BEAT if beat is None else beat):
                    with con:
                        con.execute("UPDATE runs SET heartbeat = ? WHERE run_id = ? AND writer = ?",
                                    (time.time(), run_id, me))
            except sqlite3.Error:  # the main thread reports a store that cannot be written
                pass
            finally:
                con.close()

        thread = threading.Thread(target=renew, name="mcirl-lease", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ writing

    def start_run(self, run_id: str, name: str, config: dict, meta: dict, resume: bool) -> None:
        """Register a run; an existing run continues only with resume=True, and never while
        another live process on this host writes it (one writer per run). The check and the
        claim are one IMMEDIATE transaction, so two processes cannot both pass it."""
        me = writer_token()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT status, writer, heartbeat FROM runs WHERE run_id = ?",
                                  (run_id,)).fetchone()
            live = (row is not None and row["status"] == "running"
                    and writer_alive(row["writer"], row["heartbeat"]))
            if live:
                host, pid = row["writer"].split()[:2]
                raise InputError("resume", f"{self.path}: run {run_id[:12]} is being written by "
                                 f"process {pid} on {host}; wait for it to end or stop it")
            if row is not None and not resume:
                done = self.db.execute("SELECT COUNT(*) FROM timings WHERE run_id = ?",
                                       (run_id,)).fetchone()[0]
                raise InputError("resume", f"{self.path} already holds this sweep (run "
                                 f"{run_id[:12]}, {row['status']}, {done} tasks stored): pass "
                                 "`resume` to continue it")
            if row is None:
                self.db.execute(
                    "INSERT INTO runs (run_id, name, config, package_version, git_sha, host, device,"
                    " started, status, writer, environment, heartbeat)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    (run_id, name, json.dumps(config, sort_keys=True), meta.get("package_version"),
                     meta.get("git_sha"), meta.get("host"), meta.get("device"), time.time(), me,
                     json.dumps(meta["environment"], sort_keys=True) if meta.get("environment") else None,
                     time.time()))
            else:
                self.db.execute("UPDATE runs SET status = 'running', writer = ?, heartbeat = ? WHERE run_id = ?",
                                (me, time.time(), run_id))
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def _insert(self, table: str, columns: tuple, rows: list[dict]) -> None:
        """INSERT OR IGNORE rows (dicts with at least these columns) into table; the caller
        holds the transaction."""
        self.db.executemany(_insert_sql("INSERT OR IGNORE", table, columns), rows)

    def add_cells(self, run_id: str, rows: list[dict]) -> None:
        with self.db:
            self._insert("cells", CELL_COLUMNS, [{"run_id": run_id, **r} for r in rows])

    def put_task(self, run_id: str, key: str, rows: list[dict], timing: dict) -> None:
        """A task's estimate rows and timing, in one transaction (all or nothing). Rows stored
        before a criterion existed (its failure count NULL) give way to the recomputed ones."""
        with self.db:
            self.db.execute(f"DELETE FROM estimates WHERE run_id = ? AND key = ? AND ({_INCOMPLETE})",
                            (run_id, key))
            self._insert("estimates", ESTIMATE_COLUMNS,
                         [{**{c: r.get(c) for c in ESTIMATE_COLUMNS}, "run_id": run_id, "key": key}
                          for r in rows])
            self._insert("timings", TIMING_COLUMNS, [{
                **{c: timing.get(c) for c in TIMING_COLUMNS}, "run_id": run_id, "key": key,
                "reused": int(timing.get("reused", 0)), "finished": time.time()}])

    def put_mstar(self, run_id: str, rows: list[dict]) -> None:
        with self.db:
            self._insert("mstar", MSTAR_COLUMNS, [{"run_id": run_id, **r} for r in rows])

    def put_elbow(self, run_id: str, curves: list[dict], elbows: list[dict]) -> None:
        """One (k, noise) of an elbow run, in one transaction."""
        with self.db:
            self._insert("elbow_curves", ELBOW_CURVE_COLUMNS,
                         [{"run_id": run_id, **r} for r in curves])
            self._insert("elbows", ELBOW_COLUMNS, [{"run_id": run_id, **r} for r in elbows])

    def finish_run(self, run_id: str, seconds: float) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET status = 'done', finished = ?, "
                            "seconds = COALESCE(seconds, 0) + ? WHERE run_id = ?",
                            (time.time(), seconds, run_id))

    def add_seconds(self, run_id: str, seconds: float) -> None:
        """Wall time of an interrupted stretch of a run."""
        with self.db:
            self.db.execute("UPDATE runs SET status = 'interrupted', "
                            "seconds = COALESCE(seconds, 0) + ? WHERE run_id = ?", (seconds, run_id))

    def merge(self, sources: list[str | Path]) -> list[dict]:
        """Copy every row of other results databases into this one, in one transaction.

        Rows are keyed by content hashes (run ids, task keys) and inserted with INSERT OR
        IGNORE, so merging is idempotent and its order does not matter; a row this database
        already holds is kept. The one exception is a run that is unfinished here and done in a
        source: it takes the source's runs row (status, wall time), since its remaining task
        and m* rows arrive with it. Sources are opened read-only and all are checked before
        anything is written. Returns, per source, {"path", "added": {table: rows},
        "present": {table: rows already here}}.
        """
        opened, report = [], []
        try:
            for source in sources:
                opened.append((Path(source), _open_source(Path(source), self.path)))
            columns = {table: self._columns(table) for table in TABLES}
            with self.db:
                for path, src in opened:
                    added, present = {}, {}
                    for table in TABLES:
                        rows = _source_rows(src, table, columns[table])
                        before = self.db.total_changes
                        if table == "runs":
                            self._upsert_runs(rows)
                        elif rows:
                            self._insert(table, tuple(rows[0]), rows)
                        added[table] = self.db.total_changes - before
                        present[table] = len(rows) - added[table]
                    report.append({"path": str(path), "added": added, "present": present})
        finally:
            for _, src in opened:
                src.close()
        return report

    def _columns(self, table: str) -> list[str]:
        return [r["name"] for r in self.db.execute(f"PRAGMA table_info({table})")]

    def _upsert_runs(self, rows: list[dict]) -> None:
        """Insert runs rows; an unfinished run here takes a source's finished row."""
        if not rows:
            return
        columns = tuple(rows[0])
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id")
        self.db.executemany(
            _insert_sql("INSERT", "runs", columns) + f" ON CONFLICT (run_id) DO UPDATE SET {updates}"
            " WHERE runs.status != 'done' AND excluded.status = 'done'", rows)

    # ------------------------------------------------------------------ reading

    def task_rows(self, run_id: str, key: str) -> list[dict] | None:
        """Stored rows of a task: this run's, else another run's (then copied into this run).
        A task stored before one of today's criteria existed counts as not stored: it is
        computed again, and its rows completed (:meth:`put_task`)."""
        rows = self._rows("SELECT * FROM estimates WHERE run_id = ? AND key = ? ORDER BY m",
                          (run_id, key))
        if rows and _complete(rows) and self.db.execute(
                "SELECT 1 FROM timings WHERE run_id = ? AND key = ?", (run_id, key)).fetchone():
            return rows
        for (other,) in self.db.execute("SELECT run_id FROM timings WHERE key = ? AND run_id != ?",
                                        (key, run_id)).fetchall():
            rows = self._rows("SELECT * FROM estimates WHERE run_id = ? AND key = ? ORDER BY m",
                              (other, key))
            if rows and _complete(rows):
                self.put_task(run_id, key, rows, {"reused": 1})
                return rows
        return None

    def _rows(self, sql: str, args=()) -> list[dict]:
        return [dict(r) for r in self.db.execute(sql, args).fetchall()]

    def runs(self) -> list[dict]:
        """Every run, oldest first; a run left 'running' by a process of this host that is gone
        (killed), or by one of another host whose lease expired, reads as 'interrupted', and one
        left 'running' with no writer recorded (stored before writers were) as 'unknown': no
        process can be asked about it (the file is not changed)."""
        rows = self._rows("SELECT r.*, (SELECT COUNT(*) FROM cells c WHERE c.run_id = r.run_id)"
                          " AS cells, (SELECT COUNT(*) FROM timings t WHERE t.run_id = r.run_id)"
                          " AS tasks FROM runs r ORDER BY started")
        for row in rows:
            if row["status"] == "running":
                state = _writer_state(row.get("writer"), row.get("heartbeat"))
                row["status"] = {"gone": "interrupted", None: "unknown"}.get(state, "running")
        return rows

    def resolve_run(self, prefix: str | None) -> str:
        """A run id from a unique prefix, or the latest run when prefix is None."""
        runs = self.runs()
        if not runs:
            raise InputError("db", "holds no runs", str(self.path))
        if prefix is None:
            return runs[-1]["run_id"]
        hits = [r["run_id"] for r in runs if r["run_id"].startswith(prefix) or r["name"] == prefix]
        if len(hits) != 1:
            raise InputError("run", f"must name exactly one run by id prefix or name "
                             f"({len(hits)} match)", prefix)
        return hits[0]

    def table(self, name: str, run_id: str) -> list[dict]:
        """All rows of a table for one run, in a stable order."""
        check_choice("table", name, TABLES)
        return self._rows(f"SELECT * FROM {name} WHERE run_id = ? ORDER BY {TABLE[name].order}",
                          (run_id,))


    def cell(self, run_id: str, cell_id: str) -> dict:
        """The stored row of one cell of a run."""
        return self._rows("SELECT * FROM cells WHERE run_id = ? AND cell_id = ?", (run_id, cell_id))[0]

    def instance_seeds(self, run_id: str, cell_id: str) -> list[tuple[int, int]]:
        """[(instance, MDP seed)] of the instances a run stored estimates of for a cell."""
        rows = self.db.execute("SELECT DISTINCT instance, mdp_seed FROM estimates WHERE run_id = ?"
                               " AND cell_id = ? ORDER BY instance", (run_id, cell_id))
        return [(int(i), int(s)) for i, s in rows.fetchall()]

def _process_start(pid: int) -> str:
    """The start time of a process (Linux: /proc/PID/stat field 22), "" where unknown: with
    the pid it names one process, so a recycled pid is not mistaken for the writer."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def writer_token() -> str:
    """'host pid start' of this process, stored with the run it writes."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_process_start(pid)}".strip()


#: A writer on another host is taken for alive while its heartbeat is younger than this:
#: there its process cannot be looked up, so the lease expires instead. The writer renews it
#: every LEASE_BEAT seconds (:meth:`Store.keep_alive`), whatever its tasks take.
LEASE_SECONDS = 300.0
LEASE_BEAT = 60.0


def _writer_state(token: str | None, heartbeat: float | None = None) -> str | None:
    """'alive' or 'gone' for a run's writer; None when that cannot be told (a run stored before
    writers or heartbeats were recorded). A writer of this host is looked up by pid and start
    time; one of another host holds a lease: alive while its heartbeat is younger than
    LEASE_SECONDS, gone (the lease may be taken over) after."""
    parts = (token or "").split()
    if len(parts) < 2:
        return None
    if parts[0] != socket.gethostname():
        if heartbeat is None:
            return None
        return "alive" if time.time() - heartbeat < LEASE_SECONDS else "gone"
    pid = int(parts[1])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:  # alive, another user's
        pass
    if len(parts) > 2 and _process_start(pid) not in ("", parts[2]):
        return "gone"  # the pid now belongs to another process
    return "alive"


def writer_alive(token: str | None, heartbeat: float | None = None) -> bool:
    return _writer_state(token, heartbeat) == "alive" and token != writer_token()


#: A stored estimate row lacking a criterion's failure count (written before it existed).
_INCOMPLETE = " OR ".join(f"failures_{c} IS NULL" for c in CRITERIA)


def _complete(rows: list[dict]) -> bool:
    """Whether stored estimate rows hold a failure count for every criterion of CRITERIA."""
    return all(row[f"failures_{c}"] is not None for row in rows for c in CRITERIA)


def _insert_sql(verb: str, table: str, columns) -> str:
    """``verb INTO table (columns) VALUES (:column, ...)``, for rows given as dicts."""
    return f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"


def _open_source(path: Path, target: Path) -> sqlite3.Connection:
    """A read-only connection to a results database to merge from, checked."""
    if not path.is_file():
        raise InputError("sources", "no such results database", str(path))
    if target.exists() and path.resolve() == target.resolve():
        raise InputError("sources", "must differ from `db` (a database merged into itself)", str(path))
    if identify(path, "sources") == "new":
        raise InputError("sources", "is not an mcirl results database (an empty file)", str(path))
    con = _current_reader(path)
    # One read transaction: every table is read from the same snapshot even while a sweep is
    # still writing to the source, so no task arrives with its timing row but not its estimates.
    con.execute("BEGIN")
    return con


def _source_rows(src: sqlite3.Connection, table: str, columns: list[str]) -> list[dict]:
    """A source table's rows, restricted to the columns both databases have (an older
    database lacks the later estimate columns, which stay NULL, and maybe the elbow tables)."""
    have = [r["name"] for r in src.execute(f"PRAGMA table_info({table})")]
    shared = [c for c in columns if c in have]
    if not shared:
        return []
    return [dict(r) for r in src.execute(f"SELECT {', '.join(shared)} FROM {table}")]
