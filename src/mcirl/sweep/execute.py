"""Executors: where tasks run. In-process by default; Dask for many workers or GPUs.

An executor takes tasks (:meth:`submit`) and hands back finished ones (:meth:`next_done`) in
any order; results never depend on that order. With Dask a task on a worker that dies is
retried elsewhere (``retries``), and nothing is written until the client holds the result.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque

from ..errors import InputError, check_int
from .tasks import run_task

RETRIES = 3


class InProcessExecutor:
    """Runs each task in this process when its result is asked for (first in, first out)."""

    description = "in-process"

    def __init__(self):
        self._queue = deque()

    def submit(self, task) -> None:
        self._queue.append(task)

    def next_done(self):
        task = self._queue.popleft()
        return task, run_task(task)

    def close(self) -> None:
        self._queue.clear()


#: How often a Dask executor looks for a finished task, and checks that the cluster has a
#: worker; how long it waits without one before it gives up.
TICK = 0.05
WORKER_CHECK = 10.0
WORKERLESS_SECONDS = 600.0


class DaskExecutor:
    """Submits tasks to a Dask cluster (a LocalCluster, a LocalCUDACluster or a scheduler)."""

    def __init__(self, client, cluster=None, description="dask"):
        from distributed import as_completed

        self.client, self.cluster, self.description = client, cluster, description
        self._futures = {}
        self._done = as_completed()

    def submit(self, task) -> None:
        future = self.client.submit(run_task, task, key=f"mcirl-task-{task.key}", pure=False,
                                    retries=RETRIES)
        self._futures[future] = task
        self._done.add(future)

    def next_done(self):
        from concurrent.futures import CancelledError  # Dask's FutureCancelledError is one

        self._wait_for_a_result()
        future = next(self._done)
        task = self._futures.pop(future)
        try:
            return task, future.result()
        except CancelledError:
            # the scheduler went away (killed, or restarted): its futures are cancelled, and
            # the tasks already stored are kept
            raise InputError("scheduler", f"{self.description}: the cluster cancelled the sweep's "
                             "tasks (its scheduler went away?); every finished task is stored: "
                             "run the sweep again with --resume once a cluster is up") from None

    def _wait_for_a_result(self) -> None:
        """Wait until a task is done, checking every WORKER_CHECK seconds that the cluster has a
        worker: a resume against a scheduler whose workers all exited used to wait silently
        forever. Without workers it says so once, and after WORKERLESS_SECONDS it ends in a
        one-line error (every finished task is stored)."""
        waited = workerless = 0.0
        said = False
        while not self._done.has_ready():
            time.sleep(TICK)
            waited += TICK
            if waited < WORKER_CHECK:
                continue
            if self._workers():
                workerless, waited = 0.0, 0.0
                continue
            workerless, waited = workerless + waited, 0.0
            if not said:
                print(f"mcirl: {self.description} has no workers; waiting for one to join (at "
                      f"most {WORKERLESS_SECONDS:g} s)", file=sys.stderr)
                said = True
            if workerless >= WORKERLESS_SECONDS:
                raise InputError("scheduler", f"{self.description}: no worker joined the cluster "
                                 f"for {WORKERLESS_SECONDS:g} s; every finished task is stored: "
                                 "start workers and run the sweep again with --resume")

    def _workers(self) -> int:
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # an unreachable scheduler is the futures' error to report
            return 1

    def close(self) -> None:
        for future in self._futures:
            future.cancel()
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def _cores() -> int:
    """CPU cores this process may run on (its affinity where the OS reports one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _dask(option: str):
    try:
        import distributed
    except ImportError:
        raise InputError(option, "needs Dask: pip install 'mcirl[dist]'") from None
    return distributed


def check_executor_options(workers: int | None = None, gpus: str | None = None,
                           scheduler: str | None = None) -> None:
    """Every check of :func:`make_executor` that needs no cluster: a dry run makes them too."""
    chosen = [name for name, v in (("workers", workers), ("gpus", gpus),
                                   ("scheduler", scheduler)) if v is not None]
    if len(chosen) > 1:
        raise InputError(chosen[1], f"cannot be combined with `{chosen[0]}`")
    if not chosen:
        return
    distributed = _dask(chosen[0])
    if scheduler is not None:
        try:  # the form of the address; whether a scheduler answers there, only connecting tells
            protocol, location = distributed.comm.parse_address(scheduler)
            if protocol != "inproc":  # a network address has a host and a port
                distributed.comm.parse_host_port(location)
        except (ValueError, TypeError) as exc:
            raise InputError("scheduler", f"is not a Dask scheduler address such as "
                             f"tcp://host:8786 ({exc})", scheduler) from None
    if gpus is not None and gpus != "all":
        raise InputError("gpus", "must be 'all'", gpus)
    if workers is not None:
        # a LocalCluster is one single-threaded process per worker on this machine: more than
        # its cores only adds contention (and 1e30 of them would exhaust its memory first)
        check_int("workers", workers, 1, _cores())


#: How long a scheduler may take to answer. Dask's own timeout bounds the connection, not a
#: server that accepts it and never speaks Dask's protocol (an HTTP port: it hung forever).
SCHEDULER_SECONDS = 20.0


def _connect(distributed, address: str):
    """A Client of the scheduler at address, or a one-line InputError within SCHEDULER_SECONDS
    (and a few more for the handshake): the connection runs in a daemon thread, given up on
    when it does not end in time."""
    import threading

    box = {}

    def connect():
        try:
            box["client"] = distributed.Client(address, timeout=f"{SCHEDULER_SECONDS:g}s")
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=connect, name="mcirl-scheduler", daemon=True)
    thread.start()
    thread.join(SCHEDULER_SECONDS + 5.0)
    if thread.is_alive():
        raise InputError("scheduler", f"did not answer as a Dask scheduler within "
                         f"{SCHEDULER_SECONDS:g} s (the scheduler's port, usually 8786, not its "
                         "dashboard's?)", address)
    error = box.get("error")
    if isinstance(error, (OSError, ValueError)):  # ValueError: not an address ("missing port")
        raise InputError("scheduler", f"cannot reach a Dask scheduler ({error})", address) from None
    if error is not None:
        raise error
    return box["client"]


def make_executor(workers: int | None = None, gpus: str | None = None,
                  scheduler: str | None = None):
    """In-process unless one of workers (LocalCluster), gpus ('all': LocalCUDACluster, one
    worker per GPU) or scheduler (an existing cluster's address) is given."""
    check_executor_options(workers, gpus, scheduler)
    if workers is None and gpus is None and scheduler is None:
        return InProcessExecutor()
    distributed = _dask("scheduler" if scheduler is not None else "gpus" if gpus is not None else "workers")
    if scheduler is not None:
        return DaskExecutor(_connect(distributed, scheduler), description=f"dask scheduler {scheduler}")
    if gpus is not None:
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            raise InputError("gpus", "needs dask-cuda and a CUDA device: "
                             "pip install 'mcirl[dist,gpu]' dask-cuda") from None
        cluster = LocalCUDACluster()
        return DaskExecutor(distributed.Client(cluster), cluster, "dask LocalCUDACluster")
    # One thread per worker, Numba's prange included. The variable must be in the environment
    # the worker is spawned with: the spawned process re-imports the `mcirl` entry point, and
    # with it Numba, before a LocalCluster's `env` reaches it (with `env` each of 2 workers on
    # 2 cores ran a 2-thread team). A value the user exported wins, as with Dask's own.
    # memory_limit=1.0: each worker may use this machine's memory, as an in-process run does.
    # Dask's default splits it evenly and restarts a worker at 95% of its share, losing its
    # task, though a task's memory is the learner's arrays, which Dask cannot spill: a dense
    # k = 1000 grid task reached 9.9 GiB, still growing, against the 11.2 GiB (95% of half of
    # 24 GiB) at which Dask restarts its worker, with the machine half free.
    import dask.config

    # The nanny applies pre-spawn-environ to this process's own os.environ before spawning;
    # left there, NUMBA_NUM_THREADS=1 outlives the cluster, and Numba, re-reading its config
    # later (the CUDA simulator does), refuses a value that differs from its running team's.
    before = os.environ.get("NUMBA_NUM_THREADS")
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ.NUMBA_NUM_THREADS": "1"}):
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                               memory_limit=1.0, dashboard_address=None)
    finally:
        if before is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = before
    return DaskExecutor(distributed.Client(cluster), cluster, f"dask LocalCluster x{workers}")
