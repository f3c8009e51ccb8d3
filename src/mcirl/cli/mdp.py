"""``mcirl mdp make | info``: draw an MDP from a family into a .npz file, or check and describe one;
the family options are shared with ``mcirl estimate``."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.table import Table

from ..backend import BACKENDS, backend_module
from ..errors import InputError
from ..mdp import FamilySpec, load_npz, make_mdp, save_npz
from ..mdp.io import npz_spec
from ..mdp.families import FAMILIES, FEATURES, WEIGHTS
from ..output import number_text
from .common import Parser, count_arg, emit_json, print_table, real_arg


def add_family_options(p: argparse.ArgumentParser) -> None:
    """The options that draw an MDP from a family (FamilySpec.from_options); they are listed in
    args.family_options as (dest, flag) pairs, so that `estimate --mdp FILE` can refuse them."""
    g = p.add_argument_group("MDP family (docs/method.md)")
    options = [
        g.add_argument("--family", choices=FAMILIES, default=None, help="default: garnet"),
        g.add_argument("--S", type=count_arg, help="states (garnet, dirichlet; default 64)"),
        g.add_argument("--A", type=count_arg, help="actions (default 4)"),
        g.add_argument("--b", type=count_arg, help="garnet successors per (s, a) (default 3)"),
        g.add_argument("--alpha", type=real_arg, help="dirichlet concentration (default 1)"),
        g.add_argument("--N", type=count_arg, help="gridworld side (default 16)"),
        g.add_argument("--macro", type=count_arg, help="gridworld macrocell side (default 4)"),
        g.add_argument("--p-fail", dest="p_fail", type=real_arg,
                       help="gridworld action failure (default 0.3)"),
        g.add_argument("--k", type=count_arg, help="features (default 16; macrocell: (N/macro)^2)"),
        g.add_argument("--features", choices=FEATURES, help="default onehot (gridworld: macrocell)"),
        g.add_argument("--feature-density", dest="feature_density", type=real_arg,
                       help="sparse features: P(phi=1) (default 0.1)"),
        g.add_argument("--weights", choices=WEIGHTS, help="true reward w*: default dense (gridworld: sparse)"),
        g.add_argument("--weight-density", dest="weight_density", type=real_arg,
                       help="sparse w*: P(w_j != 0) (default 0.1)"),
        g.add_argument("--reward-rank", dest="reward_rank", type=int,
                       help="r > 0: w* = B u in a random r-dimensional subspace of the features "
                            "(B stored as reward_basis); default 0, full rank"),
        g.add_argument("--gamma", type=real_arg, help="discount (default 0.95)"),
        g.add_argument("--mdp-seed", dest="mdp_seed", type=count_arg,
                       help="seed of the MDP draw (default 0)"),
    ]
    p.set_defaults(family_options=[(a.dest, a.option_strings[0]) for a in options])


def family_spec(args) -> FamilySpec:
    options = dict(vars(args))
    options["seed"] = options.pop("mdp_seed", None)
    try:
        return FamilySpec.from_options(**options)
    except InputError as exc:
        if exc.field != "seed":
            raise
        # the spec's seed is --mdp-seed here; estimate's own --seed is the trajectories'
        raise InputError("mdp_seed", exc.allowed, exc.got) from None


def _mdp_summary(mdp, xp) -> dict:
    """What ``mdp make`` and ``mdp info`` print; the expert is solved on array module ``xp``."""
    from ..backend import to_numpy
    from ..solve import expert

    _, mu_E = expert(mdp.to(xp))
    mu_E = to_numpy(mu_E)
    onehot = bool(np.all((mdp.phi == 0) | (mdp.phi == 1)) and np.all(mdp.phi.sum(axis=1) == 1))
    return {"S": mdp.S, "A": mdp.A, "B": mdp.B, "k": mdp.k, "gamma": mdp.gamma,
            "transitions_nonzero": int((mdp.prob > 0).sum()),
            "phi_min": float(mdp.phi.min()), "phi_max": float(mdp.phi.max()),
            "phi_onehot": onehot, "w_nonzero": int((mdp.w != 0).sum()),
            "w_l1": float(np.abs(mdp.w).sum()),
            "d0_support": int((mdp.d0 > 0).sum()),
            "expert_return": float(mdp.w @ mu_E),
            "mu_E_min": float(mu_E.min()), "mu_E_max": float(mu_E.max()),
            # the reward bottleneck (FamilySpec.reward_rank), where the MDP has one
            **({"reward_rank": mdp.reward_rank} if mdp.reward_rank else {})}


def _print_mapping(title: str, mapping: dict) -> None:
    out = Table(title=title, show_header=False)
    out.add_column("key")
    out.add_column("value", justify="right")
    for key, value in mapping.items():
        out.add_row(key, number_text(value) if isinstance(value, float) else str(value))
    print_table(out)


def _make(args) -> None:
    spec = family_spec(args)
    xp = backend_module(args.backend)  # checked before anything is written
    mdp = make_mdp(spec)
    path = save_npz(mdp, args.output, spec=spec.relevant())
    summary = {"file": str(path), **spec.relevant(), **_mdp_summary(mdp, xp)}
    if args.json:
        return emit_json(summary)
    _print_mapping(f"wrote {path}", summary)


def _info(args) -> None:
    xp = backend_module(args.backend)
    mdp = load_npz(args.file)
    shape = _mdp_summary(mdp, xp)
    # the family that drew it (files from `mdp make`); S, A, k, gamma are read off the arrays
    drawn = {key: value for key, value in (npz_spec(args.file) or {}).items() if key not in shape}
    summary = {"file": str(args.file), **drawn, **shape}
    if args.json:
        return emit_json(summary)
    _print_mapping(str(args.file), summary)


def register(sub) -> None:
    mdp = sub.add_parser("mdp", help="make or inspect MDP files (.npz)")
    mdp_sub = mdp.add_subparsers(dest="mdp_command", required=True, parser_class=Parser)
    p = mdp_sub.add_parser("make", help="draw an MDP from a family and write it")
    add_family_options(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="FILE.npz")
    p.add_argument("--backend", choices=BACKENDS, default="cpu", help="where the expert is solved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_make)
    p = mdp_sub.add_parser("info", help="validate and describe an MDP file")
    p.add_argument("file", type=Path)
    p.add_argument("--backend", choices=BACKENDS, default="cpu", help="where the expert is solved")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_info)
