"""Opening results databases: what a file is (:func:`identify`), whether it may be written,
and read-only connections that change nothing on disk."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import InputError
from .schema import APPLICATION_ID, REQUIRED_COLUMNS, migrate, outdated


def identify(path: Path, field: str = "db") -> str:
    """"new" (no file, or an empty one: nothing to keep) or "mcirl" (stamped with
    APPLICATION_ID, or unstamped with mcirl's tables and columns), read-only; anything else is
    an InputError naming ``field``, the file left as it was."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return "new"
    if not path.is_file():
        raise InputError(field, "must be a results database file, not a folder", str(path))
    try:
        con = readonly(path)
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


def check_writable(path: Path, field: str) -> None:
    """Refuse, before SQLite opens it, a database this process cannot write: a read-only file,
    or a folder where its WAL's -wal and -shm files cannot be made (SQLite would open it,
    leave those files beside it and fail at the first write)."""
    for target, what in ((path, "the file is read-only"), (path.parent, "its folder is read-only")):
        if not os.access(target, os.W_OK):
            raise InputError(field, f"cannot be written ({what}); the commands that only read "
                             "open it as it is, and a copy in a writable folder can be resumed", str(path))


def readonly(path: Path) -> sqlite3.Connection:
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


def current_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection (:func:`readonly`) to an mcirl database, migrated to the current
    schema in an in-memory copy when an older mcirl wrote it: the file is never changed."""
    con = readonly(path)
    if outdated(con):
        memory = sqlite3.connect(":memory:")
        con.backup(memory)
        con.close()
        con = memory
        migrate(con)
    con.row_factory = sqlite3.Row
    return con
