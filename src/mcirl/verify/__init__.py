"""Property-test bounds: safe bound formulas, hypothesis strategies, the counterexample search.

- :mod:`.formula`: a whitelisted expression grammar for user bounds (never Python eval);
- :mod:`.strategies`: hypothesis strategies for MDP cells and policies (used by the test suite
  and by the search);
- :mod:`.search`: ``mcirl verify``'s search for statistically significant violations.
"""
