"""``mcirl bound``: the theoretical bounds (docs/method.md) and the seed table."""

from __future__ import annotations

import math

import numpy as np
from rich.table import Table

from .. import bounds
from ..errors import InputError, check_int, check_real
from ..output import count_text, number_text
from .common import count_arg, emit_json, print_table, real_arg


def _check_bounds_fit(ks, gammas, eps) -> None:
    """The counts `bound` prints must fit int64: none may saturate at bounds.COUNT_MAX (the
    trajectory bounds, smaller than the iteration counts times a log, are then finite)."""
    for k in ks:
        for g in gammas:
            counts = (bounds.theorem1_iterations(k, g, eps / 2), bounds.mwal_iterations(k, g, eps),
                      bounds.horizon(k, g, eps))
            if max(counts) >= np.int64(bounds.COUNT_MAX):
                raise InputError("eps", f"is too small for k = {k}, gamma = {g}: the bounds "
                                 "overflow 64-bit integers", eps)


def run(args) -> None:
    ks = args.k or ([10, 1000] if args.seed_table else None)
    gammas = args.gamma or ([0.9, 0.99] if args.seed_table else None)
    if ks is None or gammas is None:
        raise InputError("bound", "give --k and --gamma, or --seed-table")
    ks = [check_int("k", k, 1, None) for k in ks]
    gammas = [check_real("gamma", g, 0.0, 1.0, high_open=True) for g in gammas]
    eps = check_real("eps", args.eps, 0.0, math.inf, low_open=True, high_open=True)
    delta = check_real("delta", args.delta, 0.0, 1.0, low_open=True, high_open=True)
    _check_bounds_fit(ks, gammas, eps)
    if args.seed_table:
        table = bounds.seed_table(ks, gammas, eps, delta)
        result = {"eps": eps, "delta": delta, "k": ks, "gamma": gammas, "m": table.tolist(),
                  "ratio_last_to_first_k": (table[:, -1] / table[:, 0]).tolist()}
        if args.json:
            return emit_json(result)
        out = Table(title=f"Abbeel & Ng (2004) Theorem 2: m >= 2k/(eps(1-gamma))^2 ln(2k/delta),"
                          f" eps = {eps:g}, delta = {delta:g}")
        out.add_column("")
        for k in ks:
            out.add_column(f"k = {k}", justify="right")
        if len(ks) > 1:
            out.add_column(f"k={ks[-1]} / k={ks[0]}", justify="right")
        for g, row in zip(gammas, table):
            ratio = [f"{number_text(row[-1] / row[0])}x"] if len(ks) > 1 else []
            out.add_row(f"gamma = {g:g}", *[count_text(x) for x in row], *ratio)
        return print_table(out)
    variance = None if args.variance is None else check_real("variance", args.variance, 0.0, 0.25)
    rows = []
    for g in gammas:
        for k in ks:
            row = {"k": k, "gamma": g, "eps": eps, "delta": delta}
            for name, (bound, criterion, _) in bounds.BOUNDS.items():
                row[f"m_{name}"] = float(bound(k, g, eps, delta))
            if variance is not None:
                row["m_bernstein"] = float(bounds.bernstein_trajectories(k, g, eps, delta, [variance]))
            row.update(m_AN_ceil=int(math.ceil(row["m_abbeel-ng"])),
                       theorem1_iterations=int(bounds.theorem1_iterations(k, g, eps / 2)),
                       mwal_iterations=int(bounds.mwal_iterations(k, g, eps)),
                       horizon=int(bounds.horizon(k, g, eps)))
            rows.append(row)
    if args.json:
        return emit_json(rows)
    out = Table(title="Trajectories sufficient for success w.p. >= 1 - delta, by bound "
                      "(criterion); n: Thm 1 iterations at t <= eps/2; T: MWAL rounds; H: horizon")
    names = [n for n in bounds.BOUNDS] + (["bernstein"] if variance is not None else [])
    criteria = {n: c for n, (_, c, _) in bounds.BOUNDS.items()} | {"bernstein": "theorem"}
    for col in ["k", "gamma", "eps", "delta"] + [f"{n} ({criteria[n]})" for n in names] + ["n", "T", "H"]:
        out.add_column(col, justify="right")
    for r in rows:
        out.add_row(str(r["k"]), f"{r['gamma']:g}", f"{r['eps']:g}", f"{r['delta']:g}",
                    *[count_text(r[f"m_{n}"]) for n in names], count_text(r["theorem1_iterations"]),
                    count_text(r["mwal_iterations"]), count_text(r["horizon"]))
    print_table(out)


def register(sub) -> None:
    p = sub.add_parser("bound", help="theoretical bounds and the seed table")
    p.add_argument("--k", type=count_arg, nargs="+", help="features (one or more)")
    p.add_argument("--gamma", type=real_arg, nargs="+", help="discounts (one or more)")
    p.add_argument("--eps", type=real_arg, default=0.1)
    p.add_argument("--delta", type=real_arg, default=0.05)
    p.add_argument("--variance", type=real_arg,
                   help="largest per-coordinate variance of (1-gamma) sum_t gamma^t phi(s_t), "
                        "in [0, 1/4]: adds the empirical-Bernstein bound")
    p.add_argument("--seed-table", action="store_true",
                   help="the gamma x k table of m_AN (default k = 10 1000, gamma = 0.9 0.99)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)
