"""The Store: the one object commands read and write a results database through."""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError, check_choice
from ..output import output_dir
from .files import check_pages, check_path, check_writable, identify, open_reader
from .leases import keep_alive, writer_alive, writer_state, writer_token
from .schema import (APPLICATION_ID, CELL_COLUMNS, ELBOW_COLUMNS, ELBOW_CURVE_COLUMNS,
                     ESTIMATE_COLUMNS, INCOMPLETE, MSTAR_COLUMNS, TABLE, TABLES, TIMING_COLUMNS,
                     complete, insert_sql, migrate)

#: The database a command uses when none is named.
DEFAULT_DB = "mcirl-results.sqlite"


#: How long a writer waits for another process's write lock (a merge holds one for its whole
#: transaction) before it gives up with a one-line error; it says it waits after BUSY_NOTICE.
BUSY_SECONDS = 600.0
BUSY_NOTICE = 2.0


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for another connection's lock (SQLITE_BUSY or SQLITE_LOCKED)."""
    return "locked" in str(exc) or "busy" in str(exc)


class Store:
    """A results database; the sweep's client is its only writer."""

    def __init__(self, path: str | Path = DEFAULT_DB, readonly: bool = False, field: str = "db"):
        """Open (or, unless readonly, create) the results database at path.

        The path is checked first (:func:`~mcirl.store.files.check_path`: no URI, no link to
        nothing, no hard-linked file to write). A file that exists is opened only once it is
        known for an mcirl database with sound pages (:func:`~mcirl.store.files.open_reader`,
        read-only); anything else is refused with its bytes and journal mode untouched.
        ``readonly`` (the commands that only read) never writes the file: it reads one
        consistent state of it (:func:`~mcirl.store.files.readonly`), and an older database
        that needs the current columns from an in-memory copy.
        """
        self.path = Path(path)
        self.field = field
        self.readonly = readonly
        try:
            target = check_path(self.path, field, write=not readonly)
            if readonly:
                if not self.path.exists():
                    raise InputError(field, "no such results database", str(path))
                self.db = open_reader(self.path, field)
                return
            if identify(self.path, field) == "new":  # one policy for every output: missing folders are made
                output_dir(self.path.parent, field)
            else:
                check_writable(self.path, field)
            self.db = sqlite3.connect(target, timeout=BUSY_NOTICE)
            self.db.row_factory = sqlite3.Row
            check_pages(self.db, self.path, field)
            with self.write():  # WAL, the migration and the stamp wait for a busy database
                pass
            self.db.execute("PRAGMA journal_mode=WAL")
            # WAL + NORMAL: a committed task survives the process being killed at any moment
            # (only a power cut can lose the last commits), without an fsync per task.
            self.db.execute("PRAGMA synchronous=NORMAL")
            migrate(self.db)
            if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                self.db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # ours: stamp it
        except sqlite3.DatabaseError as exc:
            raise InputError(field, f"cannot open as an mcirl SQLite database ({exc})", str(path)) from None

    def close(self) -> None:
        """Close; a writer first checkpoints its WAL into the file (where no reader holds an
        older snapshot), so that the .sqlite alone holds every committed run."""
        if not self.readonly:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:  # busy or closed: the WAL keeps the rows, SQLite finishes later
                pass
        self.db.close()

    @contextmanager
    def write(self):
        """One write transaction, all or nothing. It starts IMMEDIATE (the write lock taken
        first, so it cannot fail half way for a lock); while another process holds the lock it
        waits, says so after BUSY_NOTICE seconds, and after BUSY_SECONDS ends in a one-line
        error, nothing written."""
        self._begin()
        try:
            yield self.db
        except BaseException:
            self.db.rollback()
            raise
        self.db.commit()

    def _begin(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
        print(f"mcirl: {self.path} is being written by another process; waiting for it (at most "
              f"{BUSY_SECONDS:g} s)", file=sys.stderr)
        self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_SECONDS * 1000)}")
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not _busy(exc):
                raise
            raise InputError(self.field, f"stayed busy: another process held its write lock for "
                             f"over {BUSY_SECONDS:g} s; everything stored is kept; run this again "
                             "when that process is done", str(self.path)) from None
        finally:
            self.db.execute(f"PRAGMA busy_timeout = {int(BUSY_NOTICE * 1000)}")

    def keep_alive(self, run_id: str, beat: float | None = None):
        """:func:`mcirl.store.leases.keep_alive` on this database."""
        return keep_alive(self.path, run_id, beat)

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
        self._begin()
        try:
            row = self.db.execute("SELECT name, status, writer, heartbeat FROM runs WHERE run_id = ?",
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
                if row["status"] == "done":
                    raise InputError("resume", f"{self.path} already holds this sweep, finished "
                                     f"(run {row['name']} {run_id[:12]}, {done} tasks): "
                                     "`mcirl results show` prints its m*; nothing is left to run")
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

    def insert(self, table: str, columns: tuple, rows: list[dict]) -> None:
        """INSERT OR IGNORE rows (dicts with at least these columns) into table; the caller
        holds the transaction."""
        self.db.executemany(insert_sql("INSERT OR IGNORE", table, columns), rows)

    def add_cells(self, run_id: str, rows: list[dict]) -> None:
        with self.write():
            self.insert("cells", CELL_COLUMNS, [{"run_id": run_id, **r} for r in rows])

    def put_task(self, run_id: str, key: str, rows: list[dict], timing: dict) -> None:
        """A task's estimate rows and timing, in one transaction (all or nothing). Rows stored
        before a criterion existed (its failure count NULL) give way to the recomputed ones."""
        with self.write():
            self.db.execute(f"DELETE FROM estimates WHERE run_id = ? AND key = ? AND ({INCOMPLETE})",
                            (run_id, key))
            self.insert("estimates", ESTIMATE_COLUMNS,
                         [{**{c: r.get(c) for c in ESTIMATE_COLUMNS}, "run_id": run_id, "key": key}
                          for r in rows])
            self.insert("timings", TIMING_COLUMNS, [{
                **{c: timing.get(c) for c in TIMING_COLUMNS}, "run_id": run_id, "key": key,
                "reused": int(timing.get("reused", 0)), "finished": time.time()}])

    def put_mstar(self, run_id: str, rows: list[dict]) -> None:
        with self.write():
            self.insert("mstar", MSTAR_COLUMNS, [{"run_id": run_id, **r} for r in rows])

    def put_elbow(self, run_id: str, curves: list[dict], elbows: list[dict]) -> None:
        """One (k, noise) of an elbow run, in one transaction."""
        with self.write():
            self.insert("elbow_curves", ELBOW_CURVE_COLUMNS,
                         [{"run_id": run_id, **r} for r in curves])
            self.insert("elbows", ELBOW_COLUMNS, [{"run_id": run_id, **r} for r in elbows])

    def finish_run(self, run_id: str, seconds: float) -> None:
        with self.write():
            self.db.execute("UPDATE runs SET status = 'done', finished = ?, "
                            "seconds = COALESCE(seconds, 0) + ? WHERE run_id = ?",
                            (time.time(), seconds, run_id))

    def add_seconds(self, run_id: str, seconds: float) -> None:
        """Wall time of an interrupted stretch of a run."""
        with self.write():
            self.db.execute("UPDATE runs SET status = 'interrupted', "
                            "seconds = COALESCE(seconds, 0) + ? WHERE run_id = ?", (seconds, run_id))

    def columns(self, table: str) -> list[str]:
        return [r["name"] for r in self.db.execute(f"PRAGMA table_info({table})")]

    # ------------------------------------------------------------------ reading

    def task_rows(self, run_id: str, key: str) -> list[dict] | None:
        """Stored rows of a task: this run's, else another run's (then copied into this run).
        A task stored before one of today's criteria existed counts as not stored: it is
        computed again, and its rows completed (:meth:`put_task`)."""
        rows = self._rows("SELECT * FROM estimates WHERE run_id = ? AND key = ? ORDER BY m",
                          (run_id, key))
        if rows and complete(rows) and self.db.execute(
                "SELECT 1 FROM timings WHERE run_id = ? AND key = ?", (run_id, key)).fetchone():
            return rows
        for (other,) in self.db.execute("SELECT run_id FROM timings WHERE key = ? AND run_id != ?",
                                        (key, run_id)).fetchall():
            rows = self._rows("SELECT * FROM estimates WHERE run_id = ? AND key = ? ORDER BY m",
                              (other, key))
            if rows and complete(rows):
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
                state = writer_state(row.get("writer"), row.get("heartbeat"))
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
