"""Entry points of the Python API that the command line composes from several parts."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError


def run_sweep(config, db="mcirl-results.sqlite", *, resume: bool = False, workers: int | None = None,
              backend: str | None = None) -> str:
    """Run (or, with resume=True, continue) a sweep into a results database; returns its run id.

    config: a TOML path, a dict in the TOML's layout, or a :class:`~mcirl.sweep.config.SweepConfig`.
    db: the SQLite results file (created if missing). workers: a Dask LocalCluster of that many
    workers (``mcirl[dist]``); None runs in this process. backend: overrides the config's.
    Read the results with :func:`mcirl.results.frames`.
    """
    from dataclasses import replace

    from .sweep.config import SweepConfig, config_from_dict, load_config
    from .sweep.execute import make_executor
    from .sweep.runner import drive_sweep
    from .store import Store

    if isinstance(config, (str, Path)):
        config = load_config(config)
    elif isinstance(config, dict):
        config = config_from_dict(config)
    elif not isinstance(config, SweepConfig):
        raise InputError("config", "must be a TOML path, a dict or an mcirl.SweepConfig", type(config).__name__)
    if backend is not None:
        config = replace(config, backend=backend)
    with Store(db) as store:
        executor = make_executor(workers)
        try:
            return drive_sweep(config, store, executor, resume=resume)
        finally:
            executor.close()
