"""Random MDP families of docs/method.md, described by one validated frozen spec."""

from __future__ import annotations

from dataclasses import dataclass, fields

import math

import numpy as np

from ..errors import SEED_MAX, SIZE_MAX, TABLE_MAX, InputError, check_choice, check_int, check_real
from . import features as F
from .model import MDP

FAMILIES = ("garnet", "dirichlet", "gridworld")
FEATURES = ("onehot", "dense", "sparse", "macrocell")
WEIGHTS = ("dense", "sparse")
#: Gridworld moves: north, east, south, west as (row, column) steps.
MOVES = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])


@dataclass(frozen=True)
class FamilySpec:
    """Everything that determines a random MDP; equal specs give identical MDPs."""

    family: str = "garnet"  #: garnet | dirichlet | gridworld
    S: int = 64  #: states (garnet, dirichlet); a gridworld has N*N
    A: int = 4  #: actions (a gridworld has 4: N, E, S, W)
    b: int = 3  #: garnet: successors of each (s, a)
    alpha: float = 1.0  #: dirichlet: concentration of each transition row
    N: int = 16  #: gridworld side
    macro: int = 4  #: gridworld macrocell side M (N divisible by M)
    p_fail: float = 0.3  #: gridworld: probability an action fails into a random move
    k: int | None = None  #: features; None: 16, or (N/M)^2 for macrocell features
    features: str | None = None  #: onehot | dense | sparse | macrocell (gridworld default)
    feature_density: float = 0.1  #: sparse features: P(phi_j(s) = 1)
    weights: str | None = None  #: dense | sparse (gridworld default) true-reward weights
    weight_density: float = 0.1  #: sparse weights: P(w_j != 0)
    gamma: float = 0.95  #: discount in [0, 1)
    seed: int = 0  #: seed of the MDP's random draws
    #: r > 0: the true reward lives in an r-dimensional subspace of the k features, w* = B u
    #: with B (k, r) orthonormal (the bottleneck experiment); 0: full rank (``weights``)
    reward_rank: int = 0

    def __post_init__(self):
        check_choice("family", self.family, FAMILIES)
        grid = self.family == "gridworld"
        features = self.features or ("macrocell" if grid else "onehot")
        weights = self.weights or ("sparse" if grid else "dense")
        check_choice("features", features, FEATURES)
        check_choice("weights", weights, WEIGHTS)
        # every field is checked whatever the family, so a sweep's [mdp] section (which holds
        # them all) refuses what no family could use
        N = check_int("N", self.N, 1, math.isqrt(SIZE_MAX))
        M = check_int("macro", self.macro, 1, N if grid else SIZE_MAX)
        check_real("p_fail", self.p_fail, 0.0, 1.0)
        check_real("alpha", self.alpha, 0.0, np.inf, low_open=True, high_open=True)
        check_int("b", self.b, 1)
        if grid:
            if N % M:
                raise InputError("macro", f"must divide N = {N}", M)
            if self.A != 4:
                raise InputError("A", "a gridworld has A = 4 actions (N, E, S, W)", self.A)
            S = N * N
        else:
            S = check_int("S", self.S, 1)
            check_int("A", self.A, 1)
            if features == "macrocell":
                raise InputError("features", "macrocell features need `family` gridworld")
        if self.family == "garnet":
            check_int("b", self.b, 1, S)
        if features == "macrocell":
            k = (self.N // self.macro) ** 2
            if self.k is not None and self.k != k:
                raise InputError("k", f"macrocell features fix k = (N/macro)^2 = {k}", self.k)
        else:
            k = check_int("k", 16 if self.k is None else self.k, 1)
            if features == "onehot" and S < k:
                raise InputError("k", f"one-hot features need S >= k (S = {S})", k)
        check_real("feature_density", self.feature_density, 0.0, 1.0, low_open=True)
        check_real("weight_density", self.weight_density, 0.0, 1.0, low_open=True)
        check_real("gamma", self.gamma, 0.0, 1.0, high_open=True)
        check_int("seed", self.seed, 0, SEED_MAX)
        check_int("reward_rank", self.reward_rank, 0, k)
        successors, name = {"garnet": (self.b, "b"), "dirichlet": (S, "S"),
                            "gridworld": (4, "4")}[self.family]
        if S * self.A * successors > TABLE_MAX:
            raise InputError(f"S*A*{name}", "the transition table must hold at most 2^32 entries",
                             S * self.A * successors)
        if S * k > TABLE_MAX:
            raise InputError("S*k", "the feature matrix must hold at most 2^32 entries", S * k)
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "k", k)
        if grid:
            object.__setattr__(self, "S", S)

    def relevant(self) -> dict:
        """The fields that shape this family's MDP (what to print or store)."""
        keep = {"family", "k", "features", "weights", "gamma", "seed"}
        keep |= {"garnet": {"S", "A", "b"}, "dirichlet": {"S", "A", "alpha"},
                 "gridworld": {"S", "N", "macro", "p_fail"}}[self.family]
        keep |= {"feature_density"} if self.features == "sparse" else set()
        keep |= {"weight_density"} if self.weights == "sparse" and not self.reward_rank else set()
        keep |= {"reward_rank"} if self.reward_rank else set()  # full rank keeps the ids it had
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in keep}

    @classmethod
    def from_options(cls, **options) -> "FamilySpec":
        """Spec from a dict that may hold unrelated keys and None for 'default'."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in options.items() if k in names and v is not None})


def garnet(S: int, A: int, b: int, rng: np.random.Generator):
    """Garnet G(S, A, b) (Archibald et al. 1995; Geist & Scherrer 2014).

    Each (s, a) gets b distinct successors uniformly at random, with probabilities the gaps
    between b - 1 sorted U[0, 1] cut points. Returns nxt (S, A, b) int64, prob (S, A, b).
    """
    rows = S * A
    if 4 * b > S:
        nxt = rng.permuted(np.tile(np.arange(S), (rows, 1)), axis=1)[:, :b]
    else:
        # Redraw whole rows until their b successors are distinct: uniform over b-subsets.
        nxt = rng.integers(0, S, size=(rows, b))
        while True:
            ordered = np.sort(nxt, axis=1)
            clash = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
            if not clash.any():
                break
            nxt[clash] = rng.integers(0, S, size=(int(clash.sum()), b))
    cuts = np.sort(rng.random((rows, b - 1)), axis=1)
    prob = np.diff(np.concatenate([np.zeros((rows, 1)), cuts, np.ones((rows, 1))], axis=1), axis=1)
    return nxt.reshape(S, A, b).astype(np.int64), prob.reshape(S, A, b)


def dirichlet(S: int, A: int, alpha: float, rng: np.random.Generator):
    """Dense rows P[s, a, :] ~ Dirichlet(alpha, ..., alpha). Returns nxt, prob (S, A, S)."""
    prob = rng.dirichlet(np.full(S, alpha), size=(S, A))
    return np.broadcast_to(np.arange(S), (S, A, S)).copy(), prob


def gridworld(N: int, p_fail: float):
    """Abbeel & Ng (2004) gridworld: N x N cells, actions N/E/S/W that succeed with
    probability 1 - p_fail and otherwise move in a uniformly random direction (the intended one
    included); a move off the grid stays put. Returns nxt, prob (N*N, 4, 4): slot d is the
    cell reached by moving in direction d."""
    row, col = np.divmod(np.arange(N * N), N)
    r = np.clip(row[:, None] + MOVES[None, :, 0], 0, N - 1)
    c = np.clip(col[:, None] + MOVES[None, :, 1], 0, N - 1)
    targets = r * N + c  # (S, 4)
    nxt = np.broadcast_to(targets[:, None, :], (N * N, 4, 4)).astype(np.int64)
    prob = np.full((4, 4), p_fail / 4) + (1 - p_fail) * np.eye(4)
    return nxt.copy(), np.broadcast_to(prob, (N * N, 4, 4)).copy()


def make_mdp(spec: FamilySpec) -> MDP:
    """Draw the MDP a spec describes (d0 uniform over states)."""
    rng = np.random.default_rng(spec.seed)
    if spec.family == "garnet":
        nxt, prob = garnet(spec.S, spec.A, spec.b, rng)
    elif spec.family == "dirichlet":
        nxt, prob = dirichlet(spec.S, spec.A, spec.alpha, rng)
    else:
        nxt, prob = gridworld(spec.N, spec.p_fail)
    S, k = spec.S, spec.k
    if spec.features == "onehot":
        phi = F.onehot_partition(S, k, rng)
    elif spec.features == "dense":
        phi = F.dense_uniform(S, k, rng)
    elif spec.features == "sparse":
        phi = F.sparse_binary(S, k, spec.feature_density, rng)
    else:
        phi = F.onehot(F.macrocells(spec.N, spec.macro), k)
    basis = None
    if spec.reward_rank:
        basis, w = F.low_rank_weights(k, spec.reward_rank, rng)
    elif spec.weights == "dense":
        w = F.dense_weights(k, rng)
    else:
        w = F.sparse_weights(k, spec.weight_density, rng)
    return MDP(nxt=nxt, prob=prob, phi=phi, w=w, d0=np.full(S, 1.0 / S), gamma=float(spec.gamma),
               reward_basis=basis)
