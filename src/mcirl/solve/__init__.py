"""Exact solvers, batched over a leading replicate axis R and array-module generic.

- :mod:`.rows`: a policy's Markov chain P_pi as fixed-width rows;
- :mod:`.evaluate`: (I - gamma P_pi) x = r and (I - gamma P_pi^T) d = d0, hence mu(pi);
- :mod:`.plan`: optimal policies by policy iteration, Bellman residuals.
"""

from .evaluate import evaluate, feature_error, feature_expectations, occupancy
from .plan import bellman_residual, expert, optimal_policy, optimality_gap
from .rows import policy_rows, uniform_policy

__all__ = ["evaluate", "occupancy", "feature_expectations", "feature_error", "optimal_policy",
           "optimality_gap", "bellman_residual", "expert", "policy_rows", "uniform_policy"]
