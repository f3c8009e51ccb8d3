"""The MDP container: fixed-width sparse transitions, features, true reward, d0, gamma.

Dimension letters used throughout mcirl: R replicates, S states, A actions, B successor slots
per (state, action), k features, H horizon, m trajectories, C checkpoints (grid values of m).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..backend import array_module, sparse_module, to_numpy


#: phi is used as a sparse matrix when at most 1 / SPARSE_PHI of its entries are non-zero.
SPARSE_PHI = 8


@dataclass(frozen=True, eq=False)
class MDP:
    """A finite discounted MDP with state features phi and true reward R(s) = w . phi(s).

    Transitions are stored as fixed-width rows, so sparse families (Garnet: b successors,
    gridworld: <= 4) stay small: slot j of (s, a) leads to ``nxt[s, a, j]`` with probability
    ``prob[s, a, j]``; padding slots have probability 0. Construct through
    :func:`mcirl.mdp.validate.checked_mdp` (files, user arrays) or the families, which validate.
    """

    nxt: np.ndarray  #: (S, A, B) int64 successor state of each slot
    prob: np.ndarray  #: (S, A, B) float64 slot probabilities, each (s, a) row sums to 1
    phi: np.ndarray  #: (S, k) float64 state features in [0, 1]
    w: np.ndarray  #: (k,) float64 true reward weights, ||w||_1 <= 1
    d0: np.ndarray  #: (S,) float64 initial state distribution
    gamma: float  #: discount in [0, 1)
    #: (k, r) float64 orthonormal columns spanning the subspace w lives in, where the MDP was
    #: drawn with a reward bottleneck (FamilySpec.reward_rank); None: full rank
    reward_basis: np.ndarray | None = None

    @property
    def reward_rank(self) -> int:
        """r of the reward bottleneck, 0 for a full-rank reward."""
        return 0 if self.reward_basis is None else int(self.reward_basis.shape[1])

    @property
    def S(self) -> int:
        return self.nxt.shape[0]

    @property
    def A(self) -> int:
        return self.nxt.shape[1]

    @property
    def B(self) -> int:
        return self.nxt.shape[2]

    @property
    def k(self) -> int:
        return self.phi.shape[1]

    @property
    def rewards(self) -> np.ndarray:
        """(S,) float64 true reward phi @ w."""
        return self.phi @ self.w

    @property
    def xp(self):
        """The array module holding this MDP's arrays (numpy, or cupy for a device copy)."""
        return array_module(self.nxt)

    @cached_property
    def transition_matrix(self):
        """(S*A, S) sparse CSR matrix, row s*A + a = P[s, a, :] (duplicate slots summed)."""
        xp = self.xp
        S, A, B = self.nxt.shape
        rows = xp.repeat(xp.arange(S * A), B)
        coo = sparse_module(xp).coo_matrix(
            (self.prob.ravel(), (rows, self.nxt.ravel())), shape=(S * A, S))
        return coo.tocsr()

    @cached_property
    def _sparse_phi(self):
        """(Phi, Phi^T) as CSR matrices when at most one entry in SPARSE_PHI of phi is non-zero
        (one-hot, sparse and macrocell features), else None: products with them then cost
        O(R nnz) instead of O(R S k) (20-40x on the products at S = 1024, k = 1000 one-hot;
        benchmarks/README.md)."""
        xp = self.xp
        if int((self.phi != 0).sum()) * SPARSE_PHI > self.phi.size:
            return None
        sparse = sparse_module(xp)
        return sparse.coo_matrix(self.phi).tocsr(), sparse.coo_matrix(self.phi.T).tocsr()

    def features_of(self, d):
        """(R, k) d @ Phi for per-state weights d: (R, S), e.g. occupancies (mu = Phi^T d)."""
        if self._sparse_phi is None:
            return d @ self.phi
        # C order, as a dense product returns it: the kernels downstream read rows
        return self.xp.ascontiguousarray((self._sparse_phi[1] @ d.T).T)

    def rewards_of(self, w):
        """(R, S) w @ Phi^T: the per-state rewards of reward weights w: (R, k)."""
        if self._sparse_phi is None:
            return w @ self.phi.T
        return self.xp.ascontiguousarray((self._sparse_phi[0] @ w.T).T)

    @cached_property
    def dense(self):
        """(S, A, S) float64 dense P, cached (for small S only: S*A*S floats)."""
        return self.transition_matrix.toarray().reshape(self.S, self.A, self.S)

    def to(self, xp) -> "MDP":
        """This MDP with every array on the module xp (numpy or cupy); itself if already there."""
        if self.xp is xp:
            return self
        move = (lambda a: xp.asarray(a)) if xp is not np else to_numpy
        return MDP(nxt=move(self.nxt), prob=move(self.prob), phi=move(self.phi),
                   w=move(self.w), d0=move(self.d0), gamma=self.gamma,
                   reward_basis=None if self.reward_basis is None else to_numpy(self.reward_basis))
