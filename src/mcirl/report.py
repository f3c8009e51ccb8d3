"""The report of a results database: the seed table with empirical columns, every cell, the run
metadata and the figures, as Markdown (report.md) and self-contained HTML (report.html).

Both renderings come from one list of blocks (heading, text, table, image), built from
:mod:`mcirl.results` summaries; the numbers are the database's, formatted, never recomputed
beyond ratios and Clopper-Pearson intervals of stored counts. The one exception, "Why the bound
is loose", is computed from the cells' MDPs (:mod:`mcirl.explain`) when the caller passes it.
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path

import numpy as np

from .output import atomic_path, count_text, number_text
from .learn import OUTCOMES
from .results import cap_sensitive, most_replicated, mstar_text, optimistic, resolved


def _rate_at_bound(cell, criterion) -> str:
    at = cell.rate_at(int(math.ceil(cell.bound)), criterion)
    if at is None:
        return "not evaluated"
    f, r = at
    low, high = (float(v[cell.m == int(math.ceil(cell.bound))][0]) for v in cell.interval(criterion))
    return f"{f}/{r} = {f / r:.3g} [{low:.3g}, {high:.3g}]"


def cell_rows(cells, criterion):
    """Table rows: the seed-table columns for every cell."""
    rows = []
    for c in cells:
        row = c.mstar.get(criterion)
        ratio = number_text(c.bound / row['m_star']) if resolved(row) else "-"
        rows.append([c.features, c.method, str(c.k), f"{c.gamma:g}", str(c.S), count_text(c.bound),
                     mstar_text(row), _undecided_as_success(row), ratio,
                     _rate_at_bound(c, criterion), _outcomes(c)])
    return rows


def _undecided_as_success(row) -> str:
    """m* with the rows stopped by the cap counted as successes: "same" unless it differs
    (then the cell's m* depends on the cap, flagged with "!")."""
    if row is None or row.get("status_optimistic") is None:
        return "-"
    return f"! {mstar_text(optimistic(row))}" if cap_sensitive(row) else "same"


def _outcomes(cell) -> str:
    """Learner rows terminated / certified / undecided / assured, over every evaluated m."""
    return " / ".join(f"{int(cell.outcomes[name].sum()):,}" for name in OUTCOMES)


CELL_HEADER = ["features", "algorithm", "k", "gamma", "S", "m_AN", "m* [m_lo, m_hi]",
               "m* if undecided succeed", "m_AN / m*", "failure rate at m_AN [95% CI]",
               "rows terminated / certified / undecided / assured"]


#: What stays fixed while k, gamma, eps or delta grows: cells differing only in ``over`` are
#: compared. S is fixed for all but k, since one-hot cells grow S with k.
_GROWTH_FIXED = {"k": ("features", "method", "gamma", "eps", "delta"),
                 "gamma": ("features", "method", "k", "S", "eps", "delta"),
                 "eps": ("features", "method", "k", "gamma", "S", "delta"),
                 "delta": ("features", "method", "k", "gamma", "S", "eps")}
#: The other grid parameters, shown beside each growth ratio.
_GROWTH_OTHER = {"k": ("gamma",), "gamma": ("k",), "eps": ("k", "gamma"), "delta": ("k", "gamma")}


def growth_rows(cells, criterion, over):
    """Empirical m* at the largest value of ``over`` ("k", "gamma", "eps" or "delta") over m*
    at the smallest, beside the same ratio of Abbeel & Ng's bound (Theorem 2: 177x for k = 1000
    vs 10, 100x for gamma = 0.99 vs 0.9, 1/16 for eps = 0.2 vs 0.05), for each group of cells
    that differ only in ``over``.

    Rows: [features, method (results.method), the other parameters, "over=hi / over=lo",
    empirical, bound].
    """
    groups = {}
    for c in cells:
        groups.setdefault(tuple(getattr(c, f) for f in _GROWTH_FIXED[over]), []).append(c)
    other = _GROWTH_OTHER[over]
    rows = []
    for _, group in sorted(groups.items()):
        group = sorted(group, key=lambda c: getattr(c, over))
        lo, hi = group[0], group[-1]
        if getattr(lo, over) == getattr(hi, over):
            continue
        rows.append([lo.features, lo.method, ", ".join(f"{getattr(lo, o):g}" for o in other),
                     f"{over}={getattr(hi, over):g} / {over}={getattr(lo, over):g}",
                     _mstar_ratio(lo.mstar.get(criterion), hi.mstar.get(criterion)),
                     f"{number_text(hi.bound / lo.bound)}x"])
    return rows


def _mstar_ratio(lo, hi) -> str:
    """m*(hi) / m*(lo) as text. A "below_min" m* is only an upper bound (the smallest m
    evaluated already passed), so the ratio is then a bound too; "-" where it is unknown."""
    if lo is None or hi is None or "above_cap" in (lo["status"], hi["status"]) or (
            lo["status"] == hi["status"] == "below_min"):
        return "-"
    prefix = "<= " if hi["status"] == "below_min" else ">= " if lo["status"] == "below_min" else ""
    return f"{prefix}{number_text(hi['m_star'] / lo['m_star'])}x"


def lengths_rows(cells, criterion):
    """m* with geometric trajectory lengths beside m* with truncated ones, for cells that agree
    in everything else (of several such cells, the most replicated, as in the seed table).

    Rows: [features, algorithm, k, gamma, truncated m*, geometric m*, geometric / truncated].
    """
    def setting(c):
        return (c.family, c.S, c.features, c.algorithm, c.k, c.gamma, c.eps, c.delta)

    pairs = {lengths: most_replicated([c for c in cells if c.lengths == lengths], setting)
             for lengths in ("truncated", "geometric")}
    rows = []
    for key in sorted(pairs["geometric"].keys() & pairs["truncated"].keys()):
        short, long = (pairs[x][key].mstar.get(criterion) for x in ("truncated", "geometric"))
        c = pairs["geometric"][key]
        rows.append([c.features, c.algorithm, str(c.k), f"{c.gamma:g}", mstar_text(short),
                     mstar_text(long), _mstar_ratio(short, long)])
    return rows


def _growth_blocks(rows, over, where):
    """A heading and the table of :func:`growth_rows`, or a line saying why there is none."""
    other = _GROWTH_OTHER[over]
    return [("h2", f"Growth from the smallest to the largest {over} {where}"),
            ("table", (["features", "algorithm", ", ".join(other), "ratio", "empirical m* ratio",
                        "bound ratio"], rows)) if rows else
            ("p", f"(Needs cells at two or more values of {over} that agree in everything else; "
                  "there are none.)")]


#: The seed table (docs/method.md, 'The question'): m* at k in {10, 1000} x gamma in {0.9, 0.99}, eps = 0.1,
#: delta = 0.05.
SEED_K, SEED_GAMMA, SEED_EPS, SEED_DELTA = (10, 1000), (0.9, 0.99), 0.1, 0.05


def seed_cells(cells, runs):
    """The cells of the report's seed table.

    the seed table's cells (docs/method.md) from every run, where the database holds any: cells run one at a
    time, or merged from other databases, fill one table. A cell measured by several runs with
    different replicate counts (the full reproduction's k sweep repeats k = 10 and 1000 at
    gamma = 0.9) appears once, from the run with the most replicates. Otherwise (the quick
    reproduction, a user's sweep): the first run's cells at its smallest and largest k.
    """
    design = [c for c in cells if c.k in SEED_K and c.gamma in SEED_GAMMA and
              (c.eps, c.delta) == (SEED_EPS, SEED_DELTA)]
    if design:
        chosen = {c.cell_id for c in most_replicated(
            design, lambda c: (c.family, c.S, c.features, c.method, c.k, c.gamma)).values()}
        return [c for c in cells if c.cell_id in chosen]
    first = [c for c in cells if runs and runs[0]["run_id"] in c.run_ids] or cells
    ks = sorted({c.k for c in first})
    return [c for c in first if c.k in (ks[0], ks[-1])] if ks else []


LADDER_NOTE = (
    "Theorem 2's proof stacks four relaxations, each measurable on the cells' MDPs from the exact "
    "covariance Sigma of one expert trajectory's feature sum (mcirl explain): Hoeffding's range "
    "1/(1-gamma) per coordinate instead of its own spread ('variance', Gaussian tails with the "
    "union bound), the union bound instead of the joint law of the k errors ('joint'), "
    "||x||_2 <= sqrt(k) ||x||_inf instead of the l2 error's own law ('l2 direct'), and the "
    "proof's eps/2 instead of the criterion's eps ('learner's need': the predicted m* for l2). "
    "Each column is m after that step and its factor; pooled over each cell's instances (their "
    "mixture). The predictions are asymptotic (central limit theorem) approximations, not bounds; "
    "with the termination model they also count runs whose mu_hat_E is farther than eps/2 from "
    "the achievable set (by default for k <= 20, on its tangent cone at mu_E; --termination exact "
    "models it on the set itself).")


def ladder_rows(explanations):
    """One row per explained cell: m_AN, then m (factor) after each step of the ladder."""
    rows = []
    for e in explanations:
        steps = [count_text(e.ladder[0]["m"])]
        steps += [f"{count_text(s['m'])} ({number_text(s['factor'])}x)" for s in e.ladder[1:]]
        rows.append([e.label, str(len(e.instances)), *steps])
    return rows


def prediction_text(p) -> str:
    """A predicted m* with its Monte Carlo interval, or 'no termination model' for a learner
    explain's model does not describe (:data:`mcirl.explain.MODELLED_LEARNERS`)."""
    if p is None:
        return "no termination model"
    return f"{count_text(p['m'])} [{count_text(p['low'])}, {count_text(p['high'])}]"


def prediction_rows(explanations):
    """One row per (explained cell, criterion): predicted m* with its Monte Carlo interval,
    the measured m* and their ratio."""
    from .ladder import PREDICTED

    rows = []
    for e in explanations:
        modelled = "; ".join(f"{model}, {count_text(n)} draws" if n else "no" for model, n in
                             sorted({(i.termination_model, i.termination_draws) for i in e.instances}))
        for c in PREDICTED:
            ratio = e.ratio(c)
            rows.append([e.label, c, prediction_text(e.predicted.get(c)), modelled,
                         mstar_text(e.measured.get(c)), "-" if math.isnan(ratio) else f"{ratio:.2f}"])
    return rows


def blocks(cells, runs, criterion, figures, explanations=(), elbow=((), ())):
    """The report as (kind, payload) blocks: the sweeps' cells (:func:`seed_cells` chooses the
    seed table), then the elbow runs' results (elbow: (curve rows, elbow rows)), the runs, the
    figures. A database may hold either or both."""
    out = [("h1", "mcirl report: how many expert trajectories does apprenticeship learning need?")]
    if cells:
        out += sweep_blocks(cells, runs, criterion, explanations)
    if elbow[1]:
        out += elbow_blocks(elbow[1], elbow[0])
    out += [("h2", "Runs"), ("table", (["run", "id", "mcirl", "git", "host", "device", "seed",
                                        "instances x reps", "wall s", "status"], run_table(runs)))]
    if figures:
        out.append(("h2", "Figures"))
        alt = getattr(figures, "alt", {})
        out += [("image", (path, alt.get(path, Path(path).stem))) for path in figures]
    skipped = getattr(figures, "skipped", {})
    if skipped:
        out.append(("p", "Not drawn: " + "; ".join(f"{kind} ({why})" for kind, why in skipped.items()) + "."))
    return out


def sweep_blocks(cells, runs, criterion, explanations=()):
    """The blocks of the sweeps' cells: seed table, growth in k and gamma, every cell, the
    ladder and predictions, the game learners' guarantees."""
    out = [("p", f"Empirical sample complexity m* (smallest m with failure rate <= delta, "
                 f"criterion '{criterion}') against Abbeel & Ng's bound "
                 "m_AN = 2k/(eps(1-gamma))^2 ln(2k/delta). m* is pooled over MDP instances; "
                 "[m_lo, m_hi] are where the Clopper-Pearson bounds cross delta; the failure rate "
                 "at m_AN is measured at m = ceil(m_AN) with its 95% interval. Each learner row "
                 "ends terminated (its own stop), certified (proven never to stop: a failure), "
                 "undecided (stopped by the iteration cap: a failure in m*) or assured (proven "
                 "before running to stop and succeed, whatever the cap: a success, not run); the "
                 "column 'm* if "
                 "undecided succeed' counts the last as successes and is marked '!' where that "
                 "changes m*, i.e. where m* depends on the cap.")]
    seed = seed_cells(cells, runs)
    out += [("h2", "Seed table"), ("table", (CELL_HEADER, cell_rows(seed, criterion)))]
    seed_growth, every_growth = (growth_rows(c, criterion, "k") for c in (seed, cells))
    out += _growth_blocks(seed_growth, "k", "of the seed table")
    if every_growth != seed_growth:
        # cells run one at a time, or merged from other databases, compare across runs too
        out += _growth_blocks(every_growth, "k", "over every run")
    out += _growth_blocks(growth_rows(cells, criterion, "gamma"), "gamma", "over every run")
    for over in ("eps", "delta"):  # where the cells sweep them
        if len({getattr(c, over) for c in cells}) > 1:
            out += _growth_blocks(growth_rows(cells, criterion, over), over, "over every run")
    if any(c.lengths == "geometric" for c in cells):
        out += [("h2", "Truncated vs geometric trajectory lengths"),
                ("p", "The same cells with mu_E estimated from trajectories truncated at H (visits "
                      "weighted gamma^t) and from trajectories of geometric length (unbiased, "
                      "unweighted, with per-trajectory sums no longer bounded by 1/(1-gamma))."),
                ("table", (["features", "algorithm", "k", "gamma", "m* truncated",
                            "m* geometric", "geometric / truncated"],
                           lengths_rows(cells, criterion)))]
    out += [("h2", "Every cell"), ("table", (CELL_HEADER, cell_rows(cells, criterion)))]
    if explanations:
        from .ladder import STEPS

        out += [("h2", "Why the bound is loose"), ("p", LADDER_NOTE),
                ("table", (["cell", "instances", *STEPS], ladder_rows(explanations))),
                ("h2", "Predicted against measured m*"),
                ("table", (["cell", "criterion", "predicted m* [Monte Carlo interval]",
                            "termination model", "measured m* [m_lo, m_hi]",
                            "predicted / measured"], prediction_rows(explanations)))]
    guarantees = guarantee_rows(cells, runs)
    if guarantees:
        out += [("h2", "What the game learners' runs guarantee"),
                ("p", "MWAL runs T = min(its theorem's T, the cap) rounds; Freund & Schapire's "
                      "regret bound gives T rounds an a-priori game accuracy (feature units) that "
                      "Syed & Schapire's Theorem 2 needs to be at most eps/2. With the "
                      "certificate a row stops once its certified duality gap is at most eps/2 "
                      "(then it has the theorem's guarantee); 'largest gap' is the largest gap "
                      "stored for the cell. LPAL solves the game exactly."),
                ("table", (["features", "algorithm", "k", "gamma", "eps", "T run",
                            "a-priori accuracy", "needed (eps/2)", "largest gap"], guarantees))]
    return out


#: The elbow table's header (mcirl elbow and the report).
ELBOW_HEADER = ["k", "noise", "N_elbow", "95% bootstrap over instances", "status", "unconverged fits",
                "median N_elbow of ranks r < d"]


def elbow_rows(elbows, curves=()) -> list:
    """One row per (k, noise) of the full-rank (r = d) fits, the elbow experiment's headline:
    the elbow, its interval, why there is none, how many of its fits did not converge (from the
    curve rows), beside the median elbow of the lower ranks."""
    rows = []
    for e in (e for e in elbows if e["rank"] == e["d"]):
        stuck = sum(c.get("unconverged") or 0 for c in curves
                    if (c["k"], c["noise"], c["rank"]) == (e["k"], e["noise"], e["rank"]))
        others = [x["n_elbow"] for x in elbows if x["k"] == e["k"] and x["noise"] == e["noise"]
                  and x["rank"] < x["d"] and x["n_elbow"] is not None]
        rows.append([str(e["k"]), f"{e['noise']:g}", "-" if e["n_elbow"] is None else count_text(e["n_elbow"]),
                     "-" if e["n_low"] is None else f"[{count_text(e['n_low'])}, {count_text(e['n_high'])}]",
                     e.get("status") or "-", f"{stuck:,}" if curves else "-",
                     count_text(float(np.median(others))) if others else "-"])
    return rows


def elbow_blocks(elbows, curves=()):
    methods = sorted({e["method"] for e in elbows if e.get("method")})
    return [("h2", "Elbow experiment"),
            ("p", "Held-out accuracy of rank-r Bradley-Terry fits against the number N of training "
                  "comparisons (mcirl elbow); N_elbow is read off the full-rank (r = d) curve, per "
                  "latent dimension k and temperature (noise), with its bootstrap interval; elbow "
                  "definition: " + ("; ".join(methods) or "-") + "."),
            ("table", (ELBOW_HEADER, elbow_rows(elbows, curves)))]


def run_table(runs) -> list:
    """One row per run: name, id, version, commit, host, device, seed, size, wall time."""
    rows = []
    for r in runs:
        cfg = r["config"]
        if "elbow" in cfg:  # an elbow run's config is {"elbow": ...}
            cfg = cfg["elbow"]
            size = f"{cfg['reps']} reps"
        else:
            size = f"{cfg['instances']['count']} x {cfg['instances']['reps']}"
        rows.append([r["name"], r["run_id"][:12], str(r["package_version"]), str(r["git_sha"] or "-")[:12],
                     str(r["host"]), str(r["device"]), str(cfg.get("seed")), size,
                     f"{r['seconds'] or 0:.1f}", r["status"]])
    return rows


def guarantee_rows(cells, runs):
    """One row per MWAL or LPAL cell: the rounds run and what they guarantee."""
    from .learn.mwal import guarantee, rounds

    caps = {r["run_id"]: r["config"]["search"]["max_iter"] for r in runs  # sweeps, not elbows
            if "max_iter" in r["config"].get("search", {})}
    rows = []
    for c in cells:
        if c.algorithm == "lpal":
            rows.append([c.features, c.method, str(c.k), f"{c.gamma:g}", f"{c.eps:g}", "1 LP",
                         "exact", f"{c.eps / 2:g}", "0"])
        elif c.algorithm == "mwal" and c.run_id in caps:
            T = rounds(c.k, c.gamma, c.eps, caps[c.run_id])
            gap = number_text(c.max_gap)
            rows.append([c.features, c.method, str(c.k), f"{c.gamma:g}", f"{c.eps:g}", count_text(T),
                         number_text(guarantee(c.k, c.gamma, T)), f"{c.eps / 2:g}", gap])
    return rows


def to_markdown(blocks_, base: Path) -> str:
    lines = []
    for kind, payload in blocks_:
        if kind == "h1":
            lines += [f"# {payload}", ""]
        elif kind == "h2":
            lines += [f"## {payload}", ""]
        elif kind == "p":
            lines += [payload, ""]
        elif kind == "table":
            header, rows = payload
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
        elif kind == "image":
            path, alt = payload
            lines += [f"![{alt}]({os.path.relpath(path, base)})", ""]
    return "\n".join(lines)


def to_html(blocks_) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>mcirl report</title>"
             "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
             "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #bbb;"
             "padding:3px 6px}img{max-width:100%}</style></head><body>"]
    for kind, payload in blocks_:
        if kind in ("h1", "h2"):
            parts.append(f"<{kind}>{html.escape(payload)}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{html.escape(payload)}</p>")
        elif kind == "table":
            header, rows = payload
            parts.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows]
            parts.append("</table>")
        elif kind == "image":
            path, alt = Path(payload[0]), payload[1]
            mime = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}[path.suffix[1:]]
            data = base64.b64encode(path.read_bytes()).decode()
            tag = "embed" if mime == "application/pdf" else "img"
            parts.append(f"<p><{tag} src='data:{mime};base64,{data}' alt='{html.escape(alt, quote=True)}' "
                         f"title='{html.escape(alt, quote=True)}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(cells, runs, out: Path, criterion="theorem", figures=(),
                 field="output", explanations=(), elbow=((), ())) -> list[Path]:
    """Write out (report.md) and the same report as HTML beside it, figures embedded; each
    atomically (``field`` names out in errors). explanations: the cells' mcirl.explain
    CellExplanation objects, for the ladder and the predicted m*; elbow: the elbow runs'
    (curve rows, elbow rows)."""
    out = Path(out)
    content = blocks(cells, runs, criterion, figures, explanations, elbow)
    html_path = out.with_suffix(".html")
    for path, text in ((out, to_markdown(content, out.parent)), (html_path, to_html(content))):
        with atomic_path(path, field) as tmp:
            tmp.write_text(text)
    return [out, html_path]
