"""mcirl: Monte Carlo verification of apprenticeship-learning sample complexity.

How many expert trajectories does feature-matching inverse RL really need, against Abbeel &
Ng's bound m >= 2k/(eps(1-gamma))^2 ln(2k/delta)? See README.md and DESIGN notes.
"""

import os

try:  # baked in at build time by setuptools-scm (pyproject.toml)
    from ._version import __version__
except ImportError:  # a source tree never built or installed
    __version__ = "0.1.0+unknown"

# Numba's parallel kernels (OpenMP) and NumPy's BLAS (OpenBLAS threads) alternate in the
# learner; each pool spins after its work and starves the other, which on 2 cores made both
# ~6x slower (benchmarks/README.md). Sleeping idle OpenMP threads fixes it. This must be set
# before libgomp loads (Numba loads it at the first parallel launch); a user's value wins.
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from . import bounds, stats  # noqa: E402
from .errors import InputError  # noqa: E402

__all__ = ["__version__", "bounds", "stats", "InputError"]
