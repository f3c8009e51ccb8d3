"""mcirl: Monte Carlo verification of apprenticeship-learning sample complexity.

How many expert trajectories does feature-matching inverse RL really need, against Abbeel &
Ng's bound m >= 2k/(eps(1-gamma))^2 ln(2k/delta)? See README.md and DESIGN notes.
"""

__version__ = "0.1.0"

from . import bounds, stats  # noqa: E402
from .errors import InputError  # noqa: E402

__all__ = ["__version__", "bounds", "stats", "InputError"]
