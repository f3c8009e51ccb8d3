"""``mcirl estimate``: the failure rate of apprenticeship learning at each m on one MDP."""

from __future__ import annotations

import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .. import bounds
from ..backend import BACKENDS
from ..errors import HORIZON_MAX, M_MAX, InputError, show_limit
from ..learn import ALGORITHMS, CRITERIA, DEFAULT_CAP, OUTCOMES
from ..mdp import load_npz, make_mdp
from ..mdp.io import npz_spec
from ..sample import LENGTHS, SAMPLERS
from .common import (add_learner_options, count_arg, emit_json, m_arg, phase_bars, print_table,
                     real_arg)
from ..output import count_text, number_text
from .mdp import add_family_options, family_spec


def run(args) -> None:
    from dataclasses import replace

    from ..estimate import EstimateConfig, run_estimate

    # every option but m is checked before an MDP is drawn; m = 'bound' needs its k and gamma
    config = EstimateConfig(m=(1,), eps=args.eps, delta=args.delta, reps=args.reps,
                            algorithm=args.algorithm, criterion=args.criterion,
                            max_iter=args.max_iter, seed=args.seed, sampler=args.sampler,
                            backend=args.backend, lengths=args.lengths,
                            projection_step=args.projection_step, certificate=args.certificate,
                            max_horizon=args.max_horizon)
    if args.mdp is not None:
        given = [flag for dest, flag in args.family_options if getattr(args, dest) is not None]
        if given:
            raise InputError("mdp", f"--mdp FILE excludes the family options (got {given[0]})")
        mdp = load_npz(args.mdp)
        drawn = {"mdp_file": str(args.mdp), **(npz_spec(args.mdp) or {})}
    else:
        spec = family_spec(args)
        mdp = make_mdp(spec)
        drawn = spec.relevant()
    m_an = float(bounds.abbeel_ng_trajectories(mdp.k, mdp.gamma, config.eps, config.delta))
    if "bound" in args.m and not m_an <= M_MAX:
        raise InputError("m", f"'bound' is m_AN = {m_an:.3g} for this MDP, eps and delta; m must "
                         f"be at most {show_limit(M_MAX)}", "bound")
    config = replace(config, m=tuple(math.ceil(m_an) if x == "bound" else x for x in args.m))
    config.check_mdp(mdp)  # before a progress bar starts
    with phase_bars(not (args.json or args.quiet)) as progress:
        result = run_estimate(mdp, config, progress)
    if args.json:
        # every row says which cell it measured: the MDP's family (the file's, when it has one;
        # its seed as mdp_seed), its sizes, and the settings
        drawn["mdp_seed"] = drawn.pop("seed", None)
        cell = {**drawn, "S": mdp.S, "A": mdp.A, "k": mdp.k, "gamma": mdp.gamma, "eps": config.eps,
                "delta": config.delta, "max_iter": config.max_iter, "seed": config.seed,
                "projection_step": config.projection_step, "certificate": config.certificate,
                "backend": config.backend, "sampler": result.sampler}
        return emit_json([cell | vars(r) for r in result.rows])
    lengths = "geometric lengths" if result.horizon is None else f"H = {result.horizon}"
    out = Table(title=f"{config.algorithm}, criterion {config.criterion}, eps = {config.eps:g}, "
                      f"delta = {config.delta:g}: S = {mdp.S}, A = {mdp.A}, k = {mdp.k}, "
                      f"gamma = {mdp.gamma:g}, {lengths}, sampler {result.sampler}")
    for col in ("m", "failures", "rate", "95% CI", "mean iter", *OUTCOMES, "m / bound"):
        out.add_column(col, justify="right")
    for r in result.rows:
        out.add_row(f"{r.m:,}", f"{r.failures}/{r.reps}", f"{r.rate:.3f}",
                    f"[{r.ci_low:.3f}, {r.ci_high:.3f}]", f"{r.mean_iterations:.1f}",
                    *(str(r.outcomes[name]) for name in OUTCOMES), number_text(r.m / r.bound))
    print_table(out)
    s = result.seconds
    Console().print(f"bound m_AN = {count_text(result.bound)} (Abbeel & Ng Thm 2); {guarantee_text(result)}; "
                    f"time: expert {s['expert']:.2f} s, sampler {s['sample']:.2f} s, "
                    f"learner {s['learn']:.2f} s")


def guarantee_text(result) -> str:
    """What the learner as run guarantees: the trailer's middle part."""
    config = result.config
    certificate = f"certificate {config.certificate}"
    if config.algorithm == "lpal":
        return "LPAL solves the game exactly (HiGHS): gap 0"
    if config.algorithm == "mwal":
        gaps = [r.max_gap for r in result.rows]
        return (f"MWAL T = {count_text(result.rounds)} rounds guarantee a game accuracy of "
                f"{number_text(result.rounds_guarantee)} a priori (eps/2 = {number_text(config.eps / 2)} "
                f"needed); {certificate}, certified gaps up to {number_text(max(gaps))}")
    step = f", {config.projection_step} step" if config.algorithm == "projection" else ""
    return (f"Theorem 1 iteration bound {count_text(result.theorem1_iterations)}; cap {count_text(config.max_iter)}; "
            f"{certificate}{step}")


def register(sub) -> None:
    p = sub.add_parser("estimate", help="failure rate of apprenticeship learning at each m")
    p.add_argument("--mdp", type=Path, help="an MDP file (.npz); otherwise the family options")
    add_family_options(p)
    p.add_argument("--m", type=m_arg, nargs="+", required=True,
                   help="trajectory counts (1e4 notation and 'bound' = ceil(m_AN) accepted)")
    p.add_argument("--eps", type=real_arg, default=0.1)
    p.add_argument("--delta", type=real_arg, default=0.05)
    p.add_argument("--reps", type=count_arg, default=100, help="replicates (default 100)")
    p.add_argument("--algorithm", choices=ALGORITHMS, default="projection")
    p.add_argument("--criterion", choices=CRITERIA, default="theorem")
    p.add_argument("--max-iter", dest="max_iter", type=count_arg, default=DEFAULT_CAP,
                   help=f"learner iteration cap; a row stopped by it is undecided, a failure "
                        f"(default {DEFAULT_CAP:,})")
    add_learner_options(p)
    p.add_argument("--seed", type=count_arg, default=0, help="seed of the expert trajectories")
    p.add_argument("--sampler", choices=SAMPLERS, default="counts")
    p.add_argument("--lengths", choices=LENGTHS, default="truncated",
                   help="expert trajectories truncated at H (default) or of geometric length "
                        "(unbiased; P(L > t) = gamma^t)")
    p.add_argument("--max-horizon", dest="max_horizon", type=count_arg, default=HORIZON_MAX,
                   help=f"most steps of a truncated trajectory (default {HORIZON_MAX:,})")
    p.add_argument("--backend", choices=BACKENDS, default="cpu")
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(handler=run)
