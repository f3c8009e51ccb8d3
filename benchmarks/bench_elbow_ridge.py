"""The elbow experiment's fits: the evidence-maximising ridge (the default) against a fixed
ridge of 1 (the rule it replaced), measured in the same run on the same comparisons.

    python benchmarks/bench_elbow_ridge.py [--k K] [--json]

One latent-model instance of the default config (d = 20, temperature 1, 20 training sets),
for each model rank r: every N of the grid fitted in order as ``run_cell`` does (evidence fits
warm-started from the previous N's), best of 3 alternating rounds, and the ratio evidence /
fixed (> 1: the evidence costs that much more), with the held-out accuracy at the largest N.
"""

from __future__ import annotations

import argparse
import time

from _common import emit, partial
from mcirl.elbow.experiment import ElbowConfig, _instance
from mcirl.elbow.fit import fit_evidence, fit_logistic, held_out, principal_directions


def curve(features, y, grid, evidence: bool):
    lam, theta = 1.0, None
    for n in grid:
        if evidence:
            theta, lam, _ = fit_evidence(features[:, :n], y[:, :n], lam, theta)
        else:
            theta = fit_logistic(features[:, :n], y[:, :n], 1.0)
    return theta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    config = ElbowConfig(k=(args.k,))
    model, diff, y, test_diff, p_test = _instance(config, args.k, 1.0, 0)
    directions = principal_directions(model.x)
    rows = []
    for r in (1, 2, 5, 10, 20):
        features, test = diff @ directions[:r].T, test_diff @ directions[:r].T
        times = {True: [], False: []}
        for _ in range(3):
            for evidence in (False, True):  # A/B alternating
                t0 = time.perf_counter()
                theta = curve(features, y, config.grid, evidence)
                times[evidence].append(time.perf_counter() - t0)
                accuracy = float(held_out(theta, test, p_test)[0].mean())
                times.setdefault(("acc", evidence), accuracy)
        row = {"rank": r, "fixed_s": min(times[False]), "evidence_s": min(times[True]),
               "ratio": min(times[True]) / min(times[False]),
               "accuracy_fixed": times[("acc", False)], "accuracy_evidence": times[("acc", True)]}
        partial(row)
        rows.append(row)
    emit(rows, args.json, [("rank", "rank r"), ("fixed_s", "ridge 1, s"), ("evidence_s", "evidence, s"),
                           ("ratio", "evidence / fixed"), ("accuracy_fixed", "accuracy (ridge 1) at N max"),
                           ("accuracy_evidence", "accuracy (evidence)")])


if __name__ == "__main__":
    main()
