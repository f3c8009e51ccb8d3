"""Opening results databases: what a path and a file are (:func:`check_path`,
:func:`identify`), whether it may be written, whether its pages are sound (:func:`check_pages`),
and read-only connections that change nothing on disk and see one consistent state."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import InputError
from .schema import APPLICATION_ID, REQUIRED_COLUMNS, migrate, outdated

#: A reader copies a database no process is writing (no -wal beside it) into memory, up to
#: this size, and reads the copy: no lock, no file left beside it, and a writer that starts
#: meanwhile cannot tear what it reads. Larger files are read in place with SQLite's locks.
SNAPSHOT_BYTES = 256 * 2**20
#: Copies taken again when the file changed while it was copied, before reading it in place.
SNAPSHOT_TRIES = 3


def check_path(path: Path, field: str, write: bool) -> Path:
    """Refuse what the store must never open: an SQLite URI (``file:...``, which SQLite would
    interpret, opening another file or none), a symbolic link to nothing (SQLite would create
    its target), and, to write, a file with several hard links (each name gets its own -wal
    and -shm, so writers through two names would not exclude each other). Returns the path
    SQLite is given: absolute, so that no name reads as a URI."""
    if str(path).lower().startswith("file:"):
        raise InputError(field, "must be a file path, not an SQLite URI (file:...); write "
                         "./file:NAME for a file whose name starts so", str(path))
    if path.is_symlink() and not path.exists():
        raise InputError(field, "is a symbolic link to nothing (dangling or a loop); it is left "
                         "as it was", str(path))
    if write and path.is_file() and path.stat().st_nlink > 1:
        raise InputError(field, f"has {path.stat().st_nlink} hard links: writers through two "
                         "names of one database would not exclude each other; write to a copy "
                         "(docs/cli.md, 'Sharing a results database')", str(path))
    return path.absolute()


def check_pages(con: sqlite3.Connection, path: Path, field: str) -> None:
    """Refuse a database whose pages are damaged (SQLite's quick_check: every page and index
    entry readable, O(size), milliseconds on the published stores), before anything reads or
    writes it."""
    try:
        verdict = con.execute("PRAGMA quick_check(1)").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    if verdict != "ok":
        verdict = " ".join(verdict.replace("*** in database main ***", "").split())
        raise InputError(field, f"is damaged ({verdict}); nothing was read or written: restore "
                         "it from a copy (docs/cli.md, 'Sharing a results database')", str(path))


def identify(path: Path, field: str = "db") -> str:
    """"new" (no file, or an empty one: nothing to keep) or "mcirl" (:func:`open_reader`
    accepts it), read-only; anything else is an InputError naming ``field``, the file left as
    it was."""
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return "new"
    open_reader(path, field).close()
    return "mcirl"


def _check_kind(con: sqlite3.Connection, path: Path, field: str) -> None:
    """Refuse a database that is not mcirl's: neither stamped with APPLICATION_ID nor, unstamped
    (written before the stamp), holding mcirl's tables and columns."""
    stamp = con.execute("PRAGMA application_id").fetchone()[0]
    if stamp == APPLICATION_ID:
        return
    columns = {t: {r[1] for r in con.execute(f"PRAGMA table_info({t})")} for t in REQUIRED_COLUMNS}
    if stamp == 0 and all(need <= columns[t] for t, need in REQUIRED_COLUMNS.items()):
        return
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


def _stamp(path: Path) -> tuple:
    """What changes when a writer touches the file: its identity, size and modification time,
    and whether a -wal is beside it."""
    st = path.stat()
    return st.st_ino, st.st_size, st.st_mtime_ns, Path(f"{path}-wal").exists()


def _copy_pages(path: Path) -> sqlite3.Connection:
    """An in-memory copy of the file as it is on disk (immutable=1: no lock, nothing made)."""
    source = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    try:
        memory = sqlite3.connect(":memory:")
        source.backup(memory)
        return memory
    finally:
        source.close()


def readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write path, leaves nothing beside it where it can, and sees
    one consistent state of the database.

    With no -wal file beside it (no process is writing; everything is checkpointed) and at
    most SNAPSHOT_BYTES, the file is copied into memory and the copy read: it is kept only if
    the file did not change while it was copied (else copied again), so a sweep that starts
    writing meanwhile cannot tear it; read-only media work too. Otherwise (a writer is at
    work, or the file is large) mode=ro reads it in place under SQLite's locks, through the
    writer's -shm, every read transaction one snapshot.
    """
    if path.stat().st_size <= SNAPSHOT_BYTES:
        for _ in range(SNAPSHOT_TRIES):
            before = _stamp(path)
            if before[3]:
                break
            copy = _copy_pages(path)
            if _stamp(path) == before:
                return copy
            copy.close()
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)


def open_reader(path: Path, field: str = "db") -> sqlite3.Connection:
    """A read-only connection (:func:`readonly`) to an existing mcirl database, checked (an
    mcirl database, :func:`check_pages`) and migrated to the current schema in an in-memory
    copy when an older mcirl wrote it: the file is never changed."""
    if not path.is_file():
        raise InputError(field, "must be a results database file, not a folder", str(path))
    try:
        con = readonly(path)
        try:
            _check_kind(con, path, field)
            check_pages(con, path, field)
            if outdated(con):
                memory = sqlite3.connect(":memory:")
                con.backup(memory)
                con.close()
                con = memory
                migrate(con)
        except BaseException:
            con.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise InputError(field, f"cannot open as an mcirl SQLite database ({exc}); it is left "
                         "as it was", str(path)) from None
    con.row_factory = sqlite3.Row
    return con
