"""From a config to cells and tasks: instance seeds, content-hash keys, dry-run estimates.

A cell is one (features, k, gamma, algorithm) combination of the config; an instance is one
random MDP of a cell; a task is (cell, instance, m batch, replicate block), the unit of work.
Task keys are content hashes of everything that determines the task's numbers, so a task
computed once is never computed again, whatever run asks for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cached_property
from itertools import product

from .. import bounds
from ..errors import HORIZON_MAX, TASKS_MAX, InputError, check_horizon
from ..learn import resolve_certificate
from ..mdp import FamilySpec
from ..results import method
from .config import SweepConfig, content_hash


#: How a cell's certificate enters its id: "failure" as "on", the name the failure certificate
#: had while it was the only one, so cells and tasks stored then keep their ids and are reused.
CERTIFICATE_IDS = {"failure": "on", "on": "success+failure"}


@dataclass(frozen=True)
class Cell:
    """One combination of the grid; ``family`` is the MDP spec with seed 0 (instances vary it)."""

    family: FamilySpec
    algorithm: str
    eps: float
    delta: float
    lengths: str = "truncated"  #: expert trajectory lengths (mcirl.sample)
    #: The learner's options (mcirl.learn), certificate resolved (on | failure | off); a cell
    #: without them is one stored before they existed: the line step, no certificate.
    projection_step: str = "line"
    certificate: str = "off"

    @property
    def cell_id(self) -> str:
        return content_hash(self.as_dict())

    def as_dict(self) -> dict:
        out = {"family": self.family.relevant(), "algorithm": self.algorithm,
               "eps": self.eps, "delta": self.delta}
        if self.lengths != "truncated":  # truncated cells keep the ids they had before lengths
            out["lengths"] = self.lengths
        # likewise cells run before the learner had options (line step, no certificate) keep
        # their ids
        if self.algorithm == "projection" and self.projection_step != "line":
            out["projection_step"] = self.projection_step
        if self.certificate != "off":
            out["certificate"] = CERTIFICATE_IDS[self.certificate]
        return out

    @property
    def method(self) -> str:
        """How the cell's m* was measured, as tables and figures label it."""
        return method(self.algorithm, self.lengths, self.projection_step, self.certificate)

    @property
    def k(self) -> int:
        return self.family.k

    @property
    def gamma(self) -> float:
        return self.family.gamma

    @property
    def horizon(self) -> int | None:
        """H of truncated lengths; None for geometric ones."""
        if self.lengths == "geometric":
            return None
        return int(bounds.horizon(self.k, self.gamma, self.eps))

    @property
    def mean_length(self) -> float:
        """Mean steps of an expert trajectory: H, or 1 / (1 - gamma) for geometric lengths."""
        return float(self.horizon) if self.horizon is not None else 1.0 / (1.0 - self.gamma)

    @property
    def bound(self) -> float:
        return float(bounds.abbeel_ng_trajectories(self.k, self.gamma, self.eps, self.delta))

    def seeds(self, master: int, instance: int) -> tuple[int, int]:
        """(MDP seed, trajectory seed) of an instance: stable hashes, 31 bits each. The learner's
        options do not enter: cells that differ only in them run on the same MDPs and the same
        expert trajectories, so that their failure counts compare pair by pair."""
        setting = {key: value for key, value in self.as_dict().items()
                   if key not in ("projection_step", "certificate")}
        digest = content_hash({"seed": master, "cell": setting, "instance": instance})
        return int(digest[:8], 16) >> 1, int(digest[8:16], 16) >> 1


@dataclass(frozen=True)
class Task:
    """The unit of work: cell x instance x m batch x replicate block."""

    cell: Cell
    instance: int
    mdp_seed: int
    seed: int
    m: tuple  #: sorted grid values (one batch shares trajectories: nested prefixes)
    rep_start: int
    reps: int
    sampler: str
    max_iter: int
    backend: str
    #: the m of the batch the learner runs (empty: all): sequential replication's undecided
    #: points; the batch is sampled whole, so their rows are those of the whole batch
    learn: tuple = ()

    @cached_property
    def key(self) -> str:
        """Content hash of every input (the backend too: CPU and GPU agree only statistically);
        a task learning its whole batch keeps the key it had before ``learn`` existed."""
        out = {**asdict(self), "cell": self.cell.as_dict()}
        if not self.learn:
            del out["learn"]
        return content_hash(out)

    @property
    def family(self) -> FamilySpec:
        return replace(self.cell.family, seed=self.mdp_seed)

    @property
    def steps(self) -> float:
        """Trajectory steps a walker would take: reps x max m x mean length (counts may take
        far fewer)."""
        return float(self.reps) * max(self.m) * self.cell.mean_length


def check_limits(config: SweepConfig, planned: list, max_tasks: int = TASKS_MAX,
                 max_horizon: int = HORIZON_MAX) -> None:
    """Refuse, before any work, a plan of more than max_tasks grid tasks or a cell whose
    truncation horizon passes max_horizon steps (errors.TASKS_MAX, errors.HORIZON_MAX)."""
    blocks = block_count(config)
    tasks = len(planned) * config.instances.count * blocks
    if tasks > max_tasks:
        raise InputError("instances.count", f"plans {tasks:,} grid tasks ({len(planned):,} cell(s) x "
                         f"{config.instances.count:,} instance(s) x {blocks:,} "
                         f"replicate block(s)); at most {max_tasks:,} (`max_tasks` raises the "
                         "limit)", config.instances.count)
    for cell in planned:
        if cell.horizon is not None:
            check_horizon(cell.horizon, max_horizon, cell.gamma, cell.k, cell.eps)


def cells(config: SweepConfig) -> list[Cell]:
    """Every cell of the config, validated (e.g. one-hot features need S >= k)."""
    mdp, grid = config.mdp, config.cells
    out = []
    for features, k, gamma, algorithm, lengths, eps, delta in product(
            grid.features, grid.k, grid.gamma, grid.algorithms, grid.lengths, grid.eps, grid.delta):
        try:
            family = mdp.family_spec(k, features, gamma)
        except InputError as exc:
            raise InputError(f"cell (features={features}, k={k}, gamma={gamma}): {exc.field}",
                             exc.allowed, exc.got) from None
        step = grid.projection_step if algorithm == "projection" else "line"
        out.append(Cell(family=family, algorithm=algorithm, eps=float(eps), delta=float(delta),
                        lengths=lengths, projection_step=step,
                        certificate=resolve_certificate(grid.certificate, algorithm, step)))
    return out


#: Replicates per block of a sequential search whose config sets no reps_per_task: a round of
#: one block per instance is 100 rows at 4 instances, about what decides a point far from m*.
SEQUENTIAL_BLOCK = 25


def _block_size(config: SweepConfig) -> int:
    return config.instances.reps_per_task or (SEQUENTIAL_BLOCK if config.search.sequential
                                              else config.instances.reps)


def block_count(config: SweepConfig) -> int:
    """len(rep_blocks(config)), without making the list (a plan is sized before it is made)."""
    return -(-config.instances.reps // _block_size(config))


def rep_blocks(config: SweepConfig) -> list[tuple[int, int]]:
    """(first replicate, count) blocks covering config.instances.reps: reps_per_task each, or
    SEQUENTIAL_BLOCK for a sequential search that sets none, else one block."""
    reps, size = config.instances.reps, _block_size(config)
    return [(start, min(size, reps - start)) for start in range(0, reps, size)]


def iter_tasks(config: SweepConfig, cell: Cell, m_batch):
    """Tasks evaluating one m batch on every instance and replicate block of a cell, in order
    (lazily: a calibration wants only the first of up to 2^31 instances)."""
    m = tuple(sorted(set(int(x) for x in m_batch)))
    for instance in range(config.instances.count):
        mdp_seed, seed = cell.seeds(config.seed, instance)
        for start, reps in rep_blocks(config):
            yield Task(cell=cell, instance=instance, mdp_seed=mdp_seed, seed=seed, m=m,
                       rep_start=start, reps=reps, sampler=config.search.sampler,
                       max_iter=config.search.max_iter, backend=config.backend)


def grid_for(config: SweepConfig, cell: Cell) -> list[int]:
    """The geometric m grid of a cell, up to its cap."""
    return config.search.grid(config.search.cap_for(cell.bound))
