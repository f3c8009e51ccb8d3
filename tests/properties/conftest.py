"""hypothesis profiles for the property suite: MCIRL_HYPOTHESIS_PROFILE=ci (default: few
examples, fixed seed, minutes in CI) or thorough (many examples, random seeds)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=6, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("MCIRL_HYPOTHESIS_PROFILE", "ci"))
