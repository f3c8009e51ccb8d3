"""``mcirl elbow``: the pairwise-comparison elbow experiment."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..backend import BACKENDS
from ..elbow.knee import ELBOW_METHODS
from ..sweep.store import DEFAULT_DB, Store
from ..report import ELBOW_HEADER, elbow_rows
from ..output import number_text
from .common import count_arg, emit_json, phase_bars, print_table, real_arg


def run(args) -> None:
    from dataclasses import asdict

    from ..elbow.experiment import elbow_config, load_elbow_config, run_elbow, scaling_fits

    base = asdict(load_elbow_config(args.config)) if args.config else {}
    source = args.config.name if args.config else "options"
    for key in ("name", "k", "d", "noise", "feature_noise", "n_items", "n_min", "n_max", "reps",
                "test_pairs", "ridge", "ranks", "bootstrap", "seed", "instances", "elbow", "fraction",
                "threshold"):
        value = getattr(args, key)
        if value is not None:
            base[key] = value
    config = elbow_config(base, source)
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
    p.add_argument("--ridge", type=real_arg, help="L2 penalty of the fits (default 1)")
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
    p.add_argument("--db", type=Path, default=Path(DEFAULT_DB))
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)
