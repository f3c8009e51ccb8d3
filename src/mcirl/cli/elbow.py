"""``mcirl elbow``: the pairwise-comparison elbow experiment."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..backend import BACKENDS
from ..elbow.knee import ELBOW_METHODS
from ..store import DEFAULT_DB, Store
from ..report import ELBOW_HEADER, elbow_rows
from ..errors import InputError
from ..output import count_text, counted, number_text
from .common import add_dry_run_options, count_arg, emit_json, phase_bars, print_table, real_arg


#: Options of the synthetic model only, refused with --comparisons.
SYNTHETIC_ONLY = ("k", "d", "noise", "feature_noise", "n_items", "test_pairs", "instances", "ridge_cv")


def run(args) -> None:
    from dataclasses import asdict

    if args.comparisons is not None:
        return _real(args)
    if args.item_features is not None or args.split is not None:
        raise InputError("--item-features" if args.item_features is not None else "--split",
                         "goes with --comparisons FILE")

    from ..elbow.experiment import elbow_config, load_elbow_config, run_elbow, scaling_fits

    base = asdict(load_elbow_config(args.config)) if args.config else {}
    source = args.config.name if args.config else None
    for key in ("name", "k", "d", "noise", "feature_noise", "n_items", "n_min", "n_max", "reps",
                "test_pairs", "ridge", "ridge_cv", "ranks", "bootstrap", "seed", "instances", "elbow", "fraction",
                "threshold"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    config = elbow_config(base, source)
    if args.write_comparisons is not None:
        return _write(args, config)
    if args.dry_run:
        from ..elbow.experiment import dry_run

        plan = dry_run(config, calibrate=not args.no_calibrate)
        if args.json:
            return emit_json(plan)
        lines = [f"plan of elbow run {plan['name']!r} (run {plan['run_id'][:12]}): "
                 f"{counted(plan['cells'], 'cell')} (k x noise) x {counted(plan['instances'], 'instance')} x "
                 f"{counted(plan['reps'], 'training set')}, {counted(plan['ranks'], 'rank')}, "
                 f"{counted(len(plan['grid']), 'grid value')} of N up to {plan['grid'][-1]:,}: "
                 f"{plan['fits']:,} batched fits; elbow by {plan['method']}"]
        if "estimated_seconds" in plan:
            lines.append(f"estimated time (rough, from one full-rank fit at N = {plan['grid'][-1]:,}, "
                         f"{plan['calibration_seconds']:.2f} s): {number_text(plan['estimated_seconds'])} s")
        return Console().print("\n".join(lines))
    with Store(args.db) as store:
        with phase_bars(not (args.json or args.quiet)) as progress:
            run_id = run_elbow(config, store, resume=args.resume, progress=progress,
                               backend=args.backend)
        elbows = store.table("elbows", run_id)
        curves = store.table("elbow_curves", run_id)
    full = [e for e in elbows if e["rank"] == e["d"]]
    scalings = {str(noise): scaling_fits([e for e in full if e["noise"] == noise])
                for noise in sorted({e["noise"] for e in full})}
    scalings = {noise: fit for noise, fit in scalings.items() if fit}
    if args.json:
        return emit_json({"run_id": run_id, "db": str(args.db), "method": config.method,
                          "elbows": [{key: value for key, value in e.items() if key != "draws"} for e in elbows],
                          "scalings": scalings})
    out = Table(title=f"elbow experiment {config.name!r} (run {run_id[:12]}) -> {args.db}: rank-d fits, "
                      f"d = {config.d}; elbow by {config.method}")
    for col in ELBOW_HEADER:
        out.add_column(col, justify="right")
    for row in elbow_rows(elbows, curves):
        out.add_row(*row)
    print_table(out)
    for noise, fit in scalings.items():
        forms, (slope, low, high) = fit["forms"], fit["slope"]
        best = min(forms, key=lambda n: forms[n][1])
        wins = ", ".join(f"{name} {share:.0%}" for name, share in fit["wins"].items() if share)
        Console().print(f"temperature {noise}: N_elbow ~ k^{slope:.2f} (95% over instances "
                        f"[{'-' if low is None else f'{low:.2f}'}, {'-' if high is None else f'{high:.2f}'}]); "
                        f"best form {best} ({number_text(forms[best][0])} * {best}); "
                        f"best in {fit['draws']} bootstrap draws: {wins}")



def _write(args, config) -> None:
    """--write-comparisons FILE: comparisons from the synthetic model (its first k and
    temperature, instance 0 of a run with this config, n_max of them) and the items' features
    beside them."""
    from ..elbow.experiment import instance_model
    from ..elbow.real import write_comparisons

    target = Path(args.write_comparisons)
    features = target.with_name(f"{target.stem}-features{target.suffix}")
    model, _ = instance_model(config, config.k[0], config.noise[0], 0)
    paths = write_comparisons(target, features, model, config.n_max, config.seed, args.annotators or 0)
    if args.json:
        return emit_json({"comparisons": str(paths[0]), "item_features": str(paths[1]), "k": config.k[0],
                          "d": config.d, "noise": config.noise[0], "n": config.n_max})
    print("\n".join(str(p) for p in paths))


def _real(args) -> None:
    from ..elbow.experiment import EVIDENCE, elbow_config
    from ..elbow.real import held_out_curve, load_comparisons, split

    given = [f"--{name.replace('_', '-')}" for name in SYNTHETIC_ONLY if getattr(args, name) is not None]
    if given or args.config is not None:
        raise InputError(given[0] if given else "config", "is an option of the synthetic model; with "
                         "--comparisons FILE the data are yours")
    # the options the real-data path shares with the synthetic one, validated (and defaulted) once
    shared = ("n_min", "n_max", "reps", "ridge", "bootstrap", "seed", "fraction", "threshold")
    options = elbow_config({"ridge": 1.0} | {name: getattr(args, name) for name in shared
                                              if getattr(args, name) is not None})
    data = load_comparisons(args.comparisons, args.item_features)
    if options.ridge == EVIDENCE and (not data.featured or args.ranks):
        raise InputError("--ridge", "evidence is for fits on item features (--item-features, no --ranks); "
                         "give a number for item-level and annotator fits")
    train, test = split(data, args.split or "pair", args.test_fraction, options.seed)
    ranks = args.ranks or [None]
    with phase_bars(not (args.json or args.quiet)):
        curves = {rank: held_out_curve(train, test, options.grid, options.reps, options.ridge, options.fraction,
                                       options.threshold, options.bootstrap, options.seed, rank)
                  for rank in ranks}
    if args.json:
        from dataclasses import asdict

        head = {"comparisons": str(args.comparisons), "items": int(data.items.size),
                "features": int(data.x.shape[1]) if data.featured else None, "split": args.split or "pair"}
        if args.ranks:
            return emit_json({**head, "ranks": {str(r): asdict(c) for r, c in curves.items()}})
        return emit_json({**head, **asdict(curves[None])})
    for rank, curve in curves.items():
        model = "the full-rank fit" if rank is None else f"the rank-{rank} annotator x item fit"
        out = Table(title=f"held-out accuracy on {args.comparisons} ({data.items.size:,} items, "
                          f"{curve.train:,} training / {curve.test:,} test comparisons, split by "
                          f"{args.split or 'pair'}), {model}")
        for col in ("N", "accuracy", "95% interval", "log-loss"):
            out.add_column(col, justify="right")
        for n, acc, (low, high), loss in zip(curve.n, curve.accuracy, curve.accuracy_interval, curve.logloss):
            out.add_row(f"{n:,}", f"{acc:.3f}", f"[{low:.3f}, {high:.3f}]", f"{loss:.3f}")
        print_table(out)
        _print_verdict(curve, options.fraction)


def _print_verdict(curve, fraction) -> None:
    if curve.verdict == "elbow":
        low, high = curve.elbow_interval
        band = "" if low is None else f" [{count_text(low)}, {count_text(high)}]"
        Console().print(f"elbow at N = {count_text(curve.elbow)}{band} comparisons (within "
                        f"{fraction:g} of the plateau {curve.plateau:.3f}'s gain over chance)")
    elif curve.verdict == "no elbow":
        Console().print("no elbow: held-out accuracy does not rise with N")
    else:
        Console().print(f"cannot tell at this sample size: accuracy still rises at N = {curve.n[-1]:,}")


def ridge_arg(text: str):
    from ..elbow.experiment import EVIDENCE

    return EVIDENCE if text == EVIDENCE else real_arg(text)


def register(sub) -> None:
    p = sub.add_parser("elbow", help="the pairwise-comparison elbow experiment (k-dim utilities)")
    p.add_argument("config", nargs="?", type=Path, help="CONFIG.toml (keys as the options)")
    p.add_argument("--name", help="run name (default elbow)")
    p.add_argument("--k", type=count_arg, nargs="+", help="latent dimensions (default 2 5 10 20)")
    p.add_argument("--d", type=count_arg, help="feature dimension (default 20)")
    p.add_argument("--noise", type=real_arg, nargs="+", help="Bradley-Terry temperatures (default 1)")
    p.add_argument("--feature-noise", dest="feature_noise", type=real_arg,
                   help="sd of the item features around their k-dim subspace (default 0.05)")
    p.add_argument("--n-items", dest="n_items", type=count_arg, help="items compared (default 2000)")
    p.add_argument("--n-min", dest="n_min", type=count_arg, help="fewest comparisons (default 4)")
    p.add_argument("--n-max", dest="n_max", type=count_arg, help="most comparisons (default 2048)")
    p.add_argument("--reps", type=count_arg, help="training sets per cell (default 20)")
    p.add_argument("--test-pairs", dest="test_pairs", type=count_arg,
                   help="held-out comparisons (default 4000)")
    p.add_argument("--ridge", type=ridge_arg,
                   help="L2 penalty of the fits, or 'evidence': each fit's own, maximising its evidence "
                        "(default evidence; 1 with --comparisons, where evidence needs --item-features)")
    p.add_argument("--ridge-cv", dest="ridge_cv", type=real_arg, nargs="+",
                   help="candidate ridges, one chosen per (N, rank) by 2-fold cross-validation on the "
                        "training comparisons (instead of --ridge)")
    p.add_argument("--ranks", type=count_arg, nargs="+", help="model ranks (default 1..d)")
    p.add_argument("--bootstrap", type=count_arg, help="bootstrap draws of the elbow interval (default 200)")
    p.add_argument("--seed", type=count_arg, help="seed of the latent model and the comparisons (default 0)")
    p.add_argument("--instances", type=count_arg,
                   help="latent-model instances per (k, noise), the bootstrap's outer level (default 5)")
    p.add_argument("--elbow", choices=ELBOW_METHODS,
                   help="elbow definition: gap (smallest N within --fraction of the Bayes accuracy's gain "
                        "over chance), doubling (where a doubling of N gains less than --threshold), "
                        "kneedle (depends on the grid's range) (default gap)")
    p.add_argument("--fraction", type=real_arg, help="gap elbow's fraction (default 0.1)")
    p.add_argument("--threshold", type=real_arg, help="doubling elbow's gain per doubling (default 0.02)")
    g = p.add_argument_group("your own comparisons (docs/cli.md, 'mcirl elbow'; mcirl.elbow.real)")
    g.add_argument("--comparisons", type=Path, help="CSV or Parquet: item_i, item_j, winner[, annotator]")
    g.add_argument("--item-features", dest="item_features", type=Path,
                   help="CSV or Parquet: item and numeric feature columns (default: item-level Bradley-Terry)")
    g.add_argument("--split", choices=("pair", "item", "annotator"),
                   help="what is held out for testing: comparisons, items or annotators (default pair)")
    g.add_argument("--test-fraction", dest="test_fraction", type=real_arg, default=0.2,
                   help="share held out for testing")
    g.add_argument("--write-comparisons", dest="write_comparisons", type=Path,
                   help="write n_max comparisons of the synthetic model (first k and noise) to FILE, its "
                        "item features to FILE-features, and stop")
    g.add_argument("--annotators", type=count_arg, help="with --write-comparisons: an annotator column of N "
                   "annotators")
    add_dry_run_options(p, "print the plan and a time estimate; run nothing",
                        "skip the timed fit (no estimate)")
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB))
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)
