"""Output files and folders: written atomically, bad paths as one-line errors.

Every file a command writes (figures, reports, exports, MDP archives) goes through
:func:`atomic_path`: the content is written to a temporary file beside the target and renamed
into place, so a failed or interrupted command never leaves an existing file half-written,
and the file gets the permissions the umask gives (0644 under 022), as if opened directly.
A path that cannot be written (a folder where a file should be, a file where a folder should
be, no permission, a full disk) is an :class:`~mcirl.errors.InputError` naming the option it
came from. And the one format of a number in tables, reports and trailers (:func:`number_text`,
:func:`count_text`).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError


def output_dir(path: str | os.PathLike, field: str) -> Path:
    """The folder ``path``, created with its parents if missing."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # FileExistsError: a file of that name is in the way
        raise InputError(field, f"cannot be used as a folder ({exc.strerror})", str(path)) from None
    return path


def file_target(path: str | os.PathLike, field: str) -> Path:
    """``path`` as a file to write: its folder made if missing, and not a folder itself (checked
    before a command starts long work, and again as :func:`atomic_path` writes)."""
    path = Path(path)
    output_dir(path.parent, field)
    if path.is_dir():
        raise InputError(field, "must be a file name, not a folder", str(path))
    if path.exists() and not path.is_file():  # replacing it would destroy what it is
        raise InputError(field, "must name a regular file, not a FIFO, socket or device; it is "
                         "left as it was", str(path))
    return path


@contextmanager
def atomic_path(path: str | os.PathLike, field: str) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write; on success it replaces
    ``path``, on failure it is removed and ``path`` is untouched."""
    path = file_target(path, field)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    except OSError as exc:
        raise InputError(field, f"cannot be written ({exc.strerror})", str(path)) from None
    os.close(fd)
    try:
        try:
            yield Path(tmp)
            # mkstemp made the file 0600; the target gets what a plain open() would give it
            os.chmod(tmp, 0o666 & ~umask())
        except OSError as exc:  # writing it: a full disk, a quota, an I/O error
            raise InputError(field, f"cannot be written ({exc.strerror or exc})", str(path)) from None
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. a folder made at that path meanwhile
            raise InputError(field, f"cannot be written ({exc.strerror})", str(path)) from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def umask() -> int:
    """The process's umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def number_text(x) -> str:
    """The one format of a number in every table, trailer, report and dry run: '-' for None or
    NaN; from 10^6 on, e-notation with four significant digits ('1.198e+06', the seed table's
    precision); from 100 on, the whole number with thousands separators ('1,846', '82,707');
    below, three significant digits ('70.1', '8', '0.0122')."""
    if x is None or x != x:
        return "-"
    if abs(x) >= 1e6 and math.isfinite(x):
        return f"{x:.4g}"
    if abs(x) >= 100 and math.isfinite(x):
        return f"{round(x):,}"
    return f"{x:.3g}"


def count_text(x) -> str:
    """A count of trajectories or iterations (m_AN, m*, a ladder step): rounded up to a whole
    count, then as :func:`number_text`."""
    if x is None or x != x:
        return "-"
    return number_text(math.ceil(x) if abs(x) < 1e6 else x)


#: Plurals that are not the singular plus "s".
_PLURALS = {"criterion": "criteria", "replicate block": "replicate blocks"}


def counted(n: int, noun: str) -> str:
    """'1 criterion', '3 criteria', '1,000 replicates': a count with its noun in the right number."""
    return f"{n:,} {noun if n == 1 else _PLURALS.get(noun, noun + 's')}"
