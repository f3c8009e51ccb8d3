"""The results store: one SQLite file (stdlib sqlite3, WAL), append-only and idempotent.

Each task's rows are written in one transaction keyed by the task's content hash, with
INSERT OR IGNORE, so a sweep killed at any moment and resumed ends with exactly the rows of an
uninterrupted run.

The package by concern: :mod:`~mcirl.store.schema` (tables, SQL, migrations),
:mod:`~mcirl.store.files` (what a file is, read-only opens), :mod:`~mcirl.store.leases` (who
writes a run), :mod:`~mcirl.store.merge` (merging databases), and :mod:`~mcirl.store.database`'s
:class:`Store`, the one object commands read and write through. Reading results for people (summaries, tables,
m*) is :mod:`mcirl.results`.
"""

from .database import BUSY_NOTICE, BUSY_SECONDS, DEFAULT_DB, Store
from .merge import merge_files, merge_into
from .schema import SCHEMA_TABLES, TABLE, TABLES

__all__ = ["BUSY_NOTICE", "BUSY_SECONDS", "DEFAULT_DB", "SCHEMA_TABLES", "Store", "TABLE", "TABLES",
           "merge_files", "merge_into"]
