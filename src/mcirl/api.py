"""Entry points of the Python API that the command line composes from several parts."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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


@dataclass(frozen=True)
class MStar:
    """The result of :func:`find_mstar`: m* and its interval (:class:`mcirl.stats.SampleComplexity`'s
    definitions) and every evaluated point."""

    status: str  #: found | below_min | above_cap
    m_star: int | None  #: None when above the grid's largest m
    m_lo: int | None
    m_hi: int | None
    cap: int  #: the grid's largest m
    criterion: str
    #: m -> (failures, replicates) of every evaluated m, ascending
    counts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def find_mstar(mdp, config, bisect: int = 4) -> MStar:
    """The empirical m* of one MDP in memory, by the sweep's search: ``config.m`` (an
    :class:`~mcirl.estimate.EstimateConfig`) is the grid, evaluated in one batch (nested
    prefixes of the same trajectories), then ``bisect`` bisection steps in log m between the
    last m whose failure rate (``config.criterion``) is above ``config.delta`` and the first
    from which it stays below. Each step is :func:`mcirl.run_estimate` at one m with
    ``config.reps`` replicates; m*, m_lo and m_hi are read off every evaluated point
    (:func:`mcirl.stats.sample_complexity`, Clopper-Pearson at ``config.confidence``).

    Use it for an MDP of your own (``mcirl.load_mdp``, ``mcirl.mdp_from_arrays``); a sweep
    (``[mdp]`` families, many instances, a store) pools instances instead.
    """
    from dataclasses import replace

    from .errors import check_int
    from .estimate import run_estimate
    from .sweep.search import MStarSearch

    check_int("bisect", bisect, 0, 60)
    search = MStarSearch(config.m, config.delta, bisect, config.confidence)
    while (batch := search.request()) is not None:
        estimate = run_estimate(mdp, replace(config, m=batch))
        search.advance({row.m: (row.failures, row.reps) for row in estimate.rows})
    result = search.result()
    return MStar(status=result.status, m_star=result.m_star, m_lo=result.m_lo, m_hi=result.m_hi,
                 cap=max(config.m), criterion=config.criterion,
                 counts={m: search.counts[m] for m in sorted(search.counts)})
