"""``mcirl verify``: search MDPs for a statistically significant violation of a bound."""

from __future__ import annotations

from pathlib import Path

from ..backend import BACKENDS
from ..errors import InputError
from ..learn import ALGORITHMS, CRITERIA, DEFAULT_CAP
from ..output import counted, number_text
from ..sample import LENGTHS, SAMPLERS
from .common import add_dry_run_options, add_learner_options, count_arg, emit_json, phase_bars, real_arg


def _range(name, values, kind):
    if values is None:
        return None
    if len(values) == 1:
        values = values * 2
    if len(values) != 2:
        raise InputError(f"--{name}", "takes one value or LOW HIGH", values)
    return tuple(kind(v) for v in values)


def run(args) -> int:
    from dataclasses import replace

    from ..verify.search import VerifyConfig, search
    from ..verify.strategies import Ranges

    ranges = Ranges()
    changes = {name: r for name, r in (
        ("S", _range("S", args.S, int)), ("A", _range("A", args.A, int)), ("b", _range("b", args.b, int)),
        ("k", _range("k", args.k, int)), ("gamma", _range("gamma", args.gamma, float)),
        ("eps", _range("eps", args.eps, float)), ("delta", _range("delta", args.delta, float)))
        if r is not None}
    for name in ("families", "features", "weights"):
        if getattr(args, name):
            changes[name] = tuple(getattr(args, name))
    config = VerifyConfig(bound=args.bound, ranges=replace(ranges, **changes), examples=args.examples,
                          reps=args.reps, criterion=args.criterion, algorithm=args.algorithm,
                          max_iter=args.max_iter, sampler=args.sampler, lengths=args.lengths,
                          projection_step=args.projection_step, certificate=args.certificate,
                          alpha=args.alpha,
                          seed=args.seed, backend=args.backend)
    if args.dry_run:
        from ..verify.search import dry_run

        plan = dry_run(config, calibrate=not args.no_calibrate)
        if args.json:
            emit_json(plan)
            return 0
        lines = [f"plan of verify {config.bound!r}: {counted(config.examples, 'example')} of "
                 f"{counted(config.reps, 'replicate')} each (criterion {config.criterion}, {config.algorithm}), "
                 "then shrinking if one violates; costliest cell in the ranges: " + plan["costliest_cell"]
                 + ("" if plan["m_at_costliest"] is None else f", m = {plan['m_at_costliest']:,} there")]
        if "estimated_seconds_at_most" in plan:
            lines.append(f"estimated time before shrinking (rough: every example costed as the costliest "
                         f"cell, {plan['calibration_seconds']:.1f} s): at most "
                         f"{number_text(plan['estimated_seconds_at_most'])} s")
        print("\n".join(lines))
        return 0
    if Path(args.out).exists() and not Path(args.out).is_dir():  # found now, not after the search
        raise InputError("out", "must be a folder (a counterexample is saved into it)", args.out)
    with phase_bars(not (args.json or args.quiet)) as bar:
        update = None if bar is None else (lambda done, total, ex: bar("examples", done, max(done, total)))
        result = search(config, Path(args.out), update)
    rates = [e.rate for e in result.examples]
    summary = {"bound": result.bound, "examples": len(result.examples),
               "counterexample": result.violation.as_dict() if result.violation else None,
               "reproducer": result.reproducer, "confidence": result.confidence,
               "detectable_rate": result.detectable_rate,
               "max_rate": max(rates) if rates else None,
               "rates": [e.as_dict() for e in result.examples]}
    if args.json:
        emit_json(summary)
    elif result.violation is None:
        print(f"no counterexample in {counted(len(result.examples), 'example')} for bound {result.bound!r}: "
              f"failure rates at m = BOUND from {min(rates):.3f} to {max(rates):.3f} "
              f"({config.reps} replicates each, criterion {config.criterion}); each example "
              f"would have flagged a true failure rate >= {result.detectable_rate:.3f} with "
              f"probability 0.9 (one-sided Clopper-Pearson at {result.confidence:.6f})")
    else:
        v = result.violation
        print(f"counterexample to bound {result.bound!r} (after {counted(len(result.examples), 'example')}, "
              f"shrunk): {v.cell.describe()}\n  at m = {v.m:,}: {v.failures}/{v.reps} failures, "
              f"rate {v.rate:.3f}; one-sided lower bound {v.lower:.4f} > delta = {v.cell.delta:g}\n"
              f"  saved {result.reproducer['npz']}; reproduce with:\n  {result.reproducer['command']}")
    return 1 if result.violation else 0


def register(sub) -> None:
    p = sub.add_parser("verify", help="search MDPs for a significant violation of a bound")
    p.add_argument("bound", help="a bound name (see mcirl bound), 'predicted' (mcirl explain's "
                                 "predicted m* on each MDP) or a formula in k, gamma, eps, "
                                 "delta, S, A, b, e.g. '8*log(2/delta)/(eps*(1-gamma))**2'")
    p.add_argument("--family", dest="families", nargs="+", choices=("garnet", "dirichlet"),
                   help="MDP families to draw from (default garnet)")
    for name, kind, default in (("S", count_arg, "4 32"), ("A", count_arg, "2 4"), ("b", count_arg, "2 4"),
                                ("k", count_arg, "1 8"), ("gamma", real_arg, "0.5 0.9"),
                                ("eps", real_arg, "0.2 1"), ("delta", real_arg, "0.05")):
        p.add_argument(f"--{name}", type=kind, nargs="+", metavar=("LOW", "HIGH"),
                       help=f"range explored (default {default})")
    p.add_argument("--features", nargs="+", choices=("onehot", "dense", "sparse"),
                   help="feature kinds to draw from (default onehot dense)")
    p.add_argument("--weights", nargs="+", choices=("dense", "sparse"),
                   help="true-reward kinds to draw from (default both)")
    p.add_argument("--examples", type=count_arg, default=20, help="cells to try (default 20)")
    p.add_argument("--reps", type=count_arg, default=200, help="replicates per cell (default 200)")
    p.add_argument("--criterion", choices=CRITERIA, default="theorem")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="projection")
    p.add_argument("--max-iter", dest="max_iter", type=count_arg, default=DEFAULT_CAP,
                   help=f"learner iteration cap (default {DEFAULT_CAP:,})")
    add_learner_options(p)
    p.add_argument("--sampler", choices=SAMPLERS, default="auto")
    p.add_argument("--lengths", choices=LENGTHS, default="truncated",
                   help="expert trajectories truncated at H (default) or of geometric length")
    p.add_argument("--alpha", type=real_arg, default=1e-3,
                   help="false-alarm probability of the whole search (default 1e-3)")
    p.add_argument("--seed", type=count_arg, default=0, help="seed of the search (cells and trajectories)")
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--out", default="mcirl-verify", help="folder for a counterexample (.npz)")
    add_dry_run_options(p, "print the plan and a rough time estimate; search nothing",
                        "skip the timed example (no estimate)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)
