"""Writer leases: which process writes a run, and whether it still lives.

A run records its writer as 'host pid start'. On the writer's host the process is looked up
(pid and start time, so a recycled pid is not mistaken for it); from another host it cannot be,
so the writer renews a heartbeat (:func:`keep_alive`) and its lease expires LEASE_SECONDS after
the last one.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path


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
#: every LEASE_BEAT seconds (:func:`keep_alive`), whatever its tasks take.
LEASE_SECONDS = 300.0
LEASE_BEAT = 60.0


def writer_state(token: str | None, heartbeat: float | None = None) -> str | None:
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
    return writer_state(token, heartbeat) == "alive" and token != writer_token()


@contextmanager
def keep_alive(path: Path, run_id: str, beat: float | None = None):
    """Renew this process's lease on run_id every ``beat`` seconds (LEASE_BEAT) while the
    block runs, from a thread with its own connection, so that another host sees a live
    writer even while one task computes for an hour."""
    stop = threading.Event()
    me = writer_token()

    def renew():
        con = sqlite3.connect(path, timeout=30)
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
