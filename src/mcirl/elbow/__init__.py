"""Are values low-dimensional? The pairwise-comparison elbow experiment.

- :mod:`.model`: items, a rank-k latent utility, Bradley-Terry comparisons;
- :mod:`.fit`: rank-r regularised Bradley-Terry (logistic) fits, batched over replicates;
- :mod:`.knee`: elbow detection (Kneedle) with bootstrap intervals;
- :mod:`.experiment`: configs, the run over (k, noise) x N grid, storing into SQLite.
"""
