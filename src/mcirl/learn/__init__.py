"""Apprenticeship learners, batched over rows (replicates x checkpoints), and success criteria."""

from .criteria import CRITERIA, successes
from .min_norm import min_norm_points
from .projection import ALGORITHMS, LearnResult, learn

__all__ = ["ALGORITHMS", "CRITERIA", "LearnResult", "learn", "min_norm_points", "successes"]
