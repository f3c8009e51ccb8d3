"""Merging results databases: every row of the sources copied into one, idempotently, all or
nothing, never mixing two different contents under one run id."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from ..errors import InputError
from ..output import output_dir, umask
from .database import Store
from .files import check_path, open_reader
from .schema import TABLE, TABLES, insert_sql

#: Rows copied per statement: a merge holds one batch of a table in memory, not the table.
BATCH = 5000
#: The tables whose rows are results (a twin run's must agree); runs rows carry times and
#: status, and timings never reproduce.
RESULT_TABLES = ("cells", "estimates", "mstar", "elbow_curves", "elbows")


def merge_files(target: Path, sources: list[str | Path]) -> tuple[list[dict], int]:
    """Merge sources into the database at target: ([per-source report], runs in target).

    An existing target takes the rows in one transaction (:func:`merge_into`): on any error it
    is left as it was. A new target is written whole or not at all: the merge runs into a
    temporary file beside it, which is checkpointed, closed and then linked to the target's
    name only if no one has made that name meanwhile; the target is never deleted.
    """
    target = Path(target)
    check_path(target, "db", write=True)
    if target.exists():
        with Store(target) as store:
            return merge_into(store, sources), len(store.runs())
    output_dir(target.parent, "db")
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".merging")
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~umask())  # mkstemp's 0600 would hide the database from its readers
    try:
        with Store(tmp) as store:
            report, runs = merge_into(store, sources), len(store.runs())
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise InputError("db", "was made by another process while the merge ran; it is left "
                             "as it was and nothing was merged into it: run the merge again",
                             str(target)) from None
        return report, runs
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)


def merge_into(store, sources: list[str | Path]) -> list[dict]:
    """Copy every row of other results databases into store (a writable Store), in one transaction.

    Rows are keyed by content hashes (run ids, task keys) and inserted with INSERT OR
    IGNORE, so merging is idempotent and its order does not matter; a row this database
    already holds is kept. The one exception is a run that is unfinished here and done in a
    source: it takes the source's runs row (status, wall time), since its remaining task
    and m* rows arrive with it. A run id both hold with different results (the same config
    computed by different code) is refused (:func:`check_twins`): nothing is merged. Sources
    are opened read-only, each one consistent snapshot, and all are checked before anything
    is written; rows are copied in batches of BATCH. Returns, per source, {"path", "added":
    {table: rows}, "present": {table: rows already here}}.
    """
    opened, report = [], []
    try:
        for source in sources:
            opened.append((Path(source), open_source(Path(source), store.path)))
        columns = {table: store.columns(table) for table in TABLES}
        with store.write():
            for path, src in opened:
                here = {r[0] for r in store.db.execute("SELECT run_id FROM runs")}
                shared = {r["run_id"] for r in src.execute("SELECT run_id FROM runs")} & here
                added, present = {}, {}
                for table in TABLES:
                    before, seen = store.db.total_changes, 0
                    for rows in _source_batches(src, table, columns[table]):
                        seen += len(rows)
                        if table == "runs":
                            _upsert_runs(store.db, rows)
                            continue
                        if shared and table in RESULT_TABLES:
                            check_twins(store.db, table, [r for r in rows if r["run_id"] in shared],
                                        path, store.path)
                        store.insert(table, tuple(rows[0]), rows)
                    added[table] = store.db.total_changes - before
                    present[table] = seen - added[table]
                report.append({"path": str(path), "added": added, "present": present})
    finally:
        for _, src in opened:
            src.close()
    return report


def check_twins(db: sqlite3.Connection, table: str, rows: list[dict], path: Path, target: Path) -> None:
    """Refuse source rows of a run this database holds too whose stored values differ from the
    row here under the same key (compared where both hold a value: a column an older mcirl did
    not write is NULL in its rows). Equal run ids mean equal configs, not equal code: a fixed
    bug or a changed kernel gives other rows, which must not be mixed with these. Each row is
    looked up by its key, so the check holds no more than a batch in memory."""
    key = TABLE[table].key
    where = " AND ".join(f"{c} = ?" for c in key)
    for row in rows:
        other = db.execute(f"SELECT * FROM {table} WHERE {where}", [row[c] for c in key]).fetchone()
        if other is None:
            continue
        differ = [c for c in row if c in other.keys() and row[c] is not None
                  and other[c] is not None and row[c] != other[c]]
        if differ:
            raise InputError("sources", f"holds run {row['run_id'][:12]} as {target} does, but its "
                             f"{table} rows differ ({differ[0]} of {dict((c, row[c]) for c in key)}): "
                             "the same config computed by different code; nothing was merged", str(path))


def _upsert_runs(db: sqlite3.Connection, rows: list[dict]) -> None:
    """Insert runs rows; an unfinished run here takes a source's finished row."""
    columns = tuple(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id")
    db.executemany(
        insert_sql("INSERT", "runs", columns) + f" ON CONFLICT (run_id) DO UPDATE SET {updates}"
        " WHERE runs.status != 'done' AND excluded.status = 'done'", rows)


def open_source(path: Path, target: Path) -> sqlite3.Connection:
    """A read-only connection to a results database to merge from, checked."""
    check_path(path, "sources", write=False)
    if not path.is_file():
        raise InputError("sources", "no such results database", str(path))
    if target.exists() and os.path.samefile(path, target):
        raise InputError("sources", "must differ from `db` (a database merged into itself)", str(path))
    if path.stat().st_size == 0:
        raise InputError("sources", "is not an mcirl results database (an empty file)", str(path))
    con = open_reader(path, "sources")
    # One read transaction: every table is read from the same snapshot even while a sweep is
    # still writing to the source, so no task arrives with its timing row but not its estimates.
    con.execute("BEGIN")
    return con


def _source_batches(src: sqlite3.Connection, table: str, columns: list[str]):
    """A source table's rows in batches of BATCH dicts, restricted to the columns both
    databases have (an older database lacks the later estimate columns, which stay NULL, and
    maybe the elbow tables)."""
    have = [r["name"] for r in src.execute(f"PRAGMA table_info({table})")]
    shared = [c for c in columns if c in have]
    if not shared:
        return
    cursor = src.execute(f"SELECT {', '.join(shared)} FROM {table}")
    while rows := cursor.fetchmany(BATCH):
        yield [dict(r) for r in rows]
