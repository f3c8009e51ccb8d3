"""hypothesis strategies for MDP cells and policies, shared by the test suite and by
``mcirl verify``. Everything shrinks towards small MDPs: few states, actions, successors and
features, the first listed family, feature map and weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from ..mdp import FamilySpec


@dataclass(frozen=True)
class Ranges:
    """Inclusive ranges (and choices) the search explores."""

    families: tuple = ("garnet",)  #: garnet and/or dirichlet
    S: tuple = (4, 32)
    A: tuple = (2, 4)
    b: tuple = (2, 4)
    k: tuple = (1, 8)
    gamma: tuple = (0.5, 0.9)
    eps: tuple = (0.2, 1.0)
    delta: tuple = (0.05, 0.05)
    features: tuple = ("onehot", "dense")
    weights: tuple = ("dense", "sparse")


@dataclass(frozen=True)
class Cell:
    """One drawn MDP cell and accuracy target."""

    family: FamilySpec
    eps: float
    delta: float

    def describe(self) -> str:
        f = self.family
        return (f"{f.family} S={f.S} A={f.A} b={f.b} k={f.k} {f.features}/{f.weights} "
                f"gamma={f.gamma:g} eps={self.eps:g} delta={self.delta:g} mdp-seed={f.seed}")


def _real(low, high):
    if low == high:
        return st.just(float(low))
    return st.floats(low, high, allow_nan=False, allow_infinity=False).map(lambda x: round(x, 4))


@st.composite
def cells(draw, ranges: Ranges = Ranges()):
    """Random Garnet or Dirichlet cells within ranges (one-hot cells keep S >= k, b <= S)."""
    features = draw(st.sampled_from(ranges.features))
    S = draw(st.integers(*ranges.S))
    k_high = min(ranges.k[1], S) if features == "onehot" else ranges.k[1]
    spec = FamilySpec(family=draw(st.sampled_from(ranges.families)), S=S,
                      A=draw(st.integers(*ranges.A)),
                      b=draw(st.integers(min(ranges.b[0], S), min(ranges.b[1], S))),
                      k=draw(st.integers(min(ranges.k[0], k_high), k_high)), features=features,
                      weights=draw(st.sampled_from(ranges.weights)),
                      gamma=draw(_real(*ranges.gamma)), seed=draw(st.integers(0, 2**16)))
    return Cell(family=spec, eps=draw(_real(*ranges.eps)), delta=draw(_real(*ranges.delta)))


def deterministic_policies(mdp, rows: int = 3):
    """Strategy for (rows, S) int64 deterministic policies of mdp."""
    return st.lists(st.lists(st.integers(0, mdp.A - 1), min_size=mdp.S, max_size=mdp.S),
                    min_size=rows, max_size=rows).map(lambda p: np.array(p, dtype=np.int64))
