"""Merging results databases: every row of the sources copied into one, idempotently."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import InputError
from .files import current_reader, identify
from .schema import TABLES, insert_sql


def merge_into(store, sources: list[str | Path]) -> list[dict]:
    """Copy every row of other results databases into store (a writable Store), in one transaction.

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
            opened.append((Path(source), open_source(Path(source), store.path)))
        columns = {table: store.columns(table) for table in TABLES}
        with store.db:
            for path, src in opened:
                added, present = {}, {}
                for table in TABLES:
                    rows = _source_rows(src, table, columns[table])
                    before = store.db.total_changes
                    if table == "runs":
                        _upsert_runs(store.db, rows)
                    elif rows:
                        store.insert(table, tuple(rows[0]), rows)
                    added[table] = store.db.total_changes - before
                    present[table] = len(rows) - added[table]
                report.append({"path": str(path), "added": added, "present": present})
    finally:
        for _, src in opened:
            src.close()
    return report


def _upsert_runs(db: sqlite3.Connection, rows: list[dict]) -> None:
    """Insert runs rows; an unfinished run here takes a source's finished row."""
    if not rows:
        return
    columns = tuple(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "run_id")
    db.executemany(
        insert_sql("INSERT", "runs", columns) + f" ON CONFLICT (run_id) DO UPDATE SET {updates}"
        " WHERE runs.status != 'done' AND excluded.status = 'done'", rows)


def open_source(path: Path, target: Path) -> sqlite3.Connection:
    """A read-only connection to a results database to merge from, checked."""
    if not path.is_file():
        raise InputError("sources", "no such results database", str(path))
    if target.exists() and path.resolve() == target.resolve():
        raise InputError("sources", "must differ from `db` (a database merged into itself)", str(path))
    if identify(path, "sources") == "new":
        raise InputError("sources", "is not an mcirl results database (an empty file)", str(path))
    con = current_reader(path)
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
