"""Empirical-vs-theory figures (matplotlib, headless).

Each ``plot_*`` function takes :class:`~mcirl.results.CellSummary` objects and returns a
Figure; :func:`write_plots` saves them. Artists carry ``gid`` tags ("bound:<name>:<gamma>",
"mstar:<gamma>", "delta", "m_AN") so tests and users can find what is drawn. One style for all
figures: Okabe-Ito colour-blind-safe colours, 8 pt type, one-column (3.4 in) panels.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import bounds  # noqa: E402
from .output import atomic_path, count_text, number_text, output_dir  # noqa: E402
from .results import most_replicated, mstar_text  # noqa: E402
from .stats import clopper_pearson  # noqa: E402

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v"]
PANEL = 3.4  # inches: one journal column
STYLE = {"font.size": 8, "axes.labelsize": 8, "axes.titlesize": 8, "legend.fontsize": 6,
         "xtick.labelsize": 7, "ytick.labelsize": 7, "lines.linewidth": 1.1,
         "lines.markersize": 4, "axes.grid": True, "grid.alpha": 0.25, "grid.linewidth": 0.5,
         "legend.frameon": False, "savefig.dpi": 200, "savefig.bbox": "tight",
         "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO)}
#: Most cells the ladder figure draws a waterfall for (beyond: each family's smallest and largest k).
LADDER_CELLS = 8
LABELS = {"m": "expert trajectories m", "k": "features k", "rate": "failure rate"}


def _panels(cells):
    """Cells grouped by (features, method): one panel each."""
    groups: dict[tuple, list] = {}
    for c in cells:
        groups.setdefault((c.features, c.method), []).append(c)
    return groups


def _figure(n_panels, height=2.6, columns=None):
    columns = columns or min(n_panels, 2)
    rows = -(-n_panels // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(PANEL * columns, height * rows), squeeze=False)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n_panels]


def _log_axes(ax, x=True, y=True):
    """Log scales with plain-number major labels and no minor labels (readable when small)."""
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter, ScalarFormatter

    if x:
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter() if _span(ax.get_xlim()) < 1e4
                                     else LogFormatterSciNotation())
        ax.xaxis.set_minor_formatter(NullFormatter())
    if y:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())


def _k_ticks(ax, cells):
    """Label the k axis at the measured k values."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ks = sorted({c.k for c in cells})
    ax.xaxis.set_major_locator(FixedLocator(ks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(k) for k in ks])


def _span(limits):
    low, high = limits
    return high / low if low > 0 else np.inf


def _legend_below(ax, ncol=2):
    if ax.get_legend_handles_labels()[0]:  # a panel with nothing measured yet has no legend
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=ncol)


def _gammas(cells):
    return sorted({c.gamma for c in cells})


def applicable_bounds(features: str) -> dict:
    """The bounds of mcirl.bounds.BOUNDS that hold for a feature family (the one-hot variants
    only for one-hot and macrocell features)."""
    onehot = features in ("onehot", "macrocell")
    return {name: entry for name, entry in bounds.BOUNDS.items()
            if onehot or not name.endswith("-onehot")}


def _bound_curves(ax, cells, ks):
    """Every applicable bound, one colour each, line style by gamma (explained in the legend)."""
    eps, delta = cells[0].eps, cells[0].delta
    gammas = _gammas(cells)
    for gi, g in enumerate(gammas):
        if len(gammas) > 1:
            ax.plot([], [], color="#777777", ls=LINESTYLES[gi % 4], label=f"bounds at gamma={g:g}")
        for bi, (name, (bound, criterion, _)) in enumerate(bounds.BOUNDS.items()):
            if name not in applicable_bounds(cells[0].features):
                continue
            line, = ax.plot(ks, bound(ks, g, eps, delta), color=OKABE_ITO[bi % len(OKABE_ITO)],
                            ls=LINESTYLES[gi % len(LINESTYLES)], lw=0.9,
                            label=f"{name} ({criterion})" if gi == 0 else None)
            line.set_gid(f"bound:{name}:{g:g}")
        measured = [c for c in cells if c.gamma == g and np.isfinite(c.variance)]
        if measured:
            kb = np.array([c.k for c in measured])
            yb = np.array([float(bounds.bernstein_trajectories(c.k, g, eps, delta, [c.variance]))
                           for c in measured])
            order = np.argsort(kb)
            line, = ax.plot(kb[order], yb[order], color="#555555", ls=LINESTYLES[gi % 4], lw=0.9,
                            marker="x", ms=3, label="bernstein, measured variance" if gi == 0 else None)
            line.set_gid(f"bound:bernstein:{g:g}")


def _mstar_points(cells, criterion):
    """(k, m*, lower error, upper error, above-cap flags) of the cells' pooled m*."""
    out = []
    for c in cells:
        row = c.mstar.get(criterion)
        if row is None:
            continue
        if row["status"] == "above_cap":
            out.append((c.k, row["cap"], 0.0, 0.0, True))
        else:
            star = row["m_star"]
            lo = star - row["m_lo"] if row["m_lo"] is not None else 0.0
            hi = row["m_hi"] - star if row["m_hi"] is not None else 0.0
            out.append((c.k, star, lo, hi, False))
    return out


def slope(ks, ms) -> float:
    """Least-squares slope of log m* against log k (nan with fewer than two distinct k)."""
    ks, ms = np.asarray(ks, float), np.asarray(ms, float)
    if np.unique(ks).size < 2:
        return float("nan")
    return float(np.polyfit(np.log(ks), np.log(ms), 1)[0])


def plot_mstar_vs_k(cells, criterion="theorem"):
    """(a) empirical m* with [m_lo, m_hi] against k, log-log, beside every bound."""
    groups = _panels(cells)
    with plt.rc_context(STYLE):
        fig, axes = _figure(len(groups), height=3.0)
        for ax, ((features, method), group) in zip(axes, groups.items()):
            ks_all = np.array([c.k for c in group], dtype=float)
            ks = np.geomspace(ks_all.min(), max(ks_all.max(), ks_all.min() * 1.01), 60)
            _bound_curves(ax, group, ks)
            for gi, g in enumerate(_gammas(group)):
                pts = _mstar_points([c for c in group if c.gamma == g], criterion)
                if not pts:
                    continue
                k, m, lo, hi, above = (np.array(v) for v in zip(*pts))
                found = ~above
                fit = slope(k[found], m[found])
                label = f"m* gamma={g:g}" + (f", slope {fit:.2f}" if np.isfinite(fit) else "")
                cont = ax.errorbar(k[found], m[found], yerr=[lo[found], hi[found]],
                                   fmt=MARKERS[gi % len(MARKERS)], color="black", ms=4,
                                   capsize=2, elinewidth=0.8, label=label)
                cont.lines[0].set_gid(f"mstar:{g:g}")
                if above.any():
                    cap = ax.errorbar(k[above], m[above], yerr=0.5 * m[above], lolims=True,
                                      fmt=MARKERS[gi % len(MARKERS)], mfc="white", color="black",
                                      ms=4, label=f"m* > cap, gamma={g:g}")
                    cap.lines[0].set_gid(f"above_cap:{g:g}")
            _log_axes(ax)
            _k_ticks(ax, group)
            ax.set_xlabel(LABELS["k"])
            ax.set_ylabel(LABELS["m"])
            ax.set_title(f"{features} features, {method}\ncriterion {criterion}, "
                         f"eps={group[0].eps:g}, delta={group[0].delta:g}")
            _legend_below(ax)
        fig.tight_layout()
    return fig


def plot_failure_curves(cells, criterion="theorem", confidence=0.95):
    """(b) failure rate against m per cell, Clopper-Pearson band, delta and m_AN marked; under
    the curve, stacked, the shares of rows certified (proven never to stop) and undecided
    (stopped by the cap), both failures: the rest of the failures terminated off target."""
    with plt.rc_context(STYLE):
        fig, axes = _figure(len(cells), height=2.2, columns=min(len(cells), 3))
        for ax, c in zip(axes, cells):
            f, r = c.failures[criterion], c.reps
            if c.outcomes:
                certified, undecided = (c.outcomes[name] / r for name in ("certified", "undecided"))
                ax.fill_between(c.m, 0, certified, step="mid", color="0.55", alpha=0.45, lw=0,
                                label="certified (never stops)", gid="certified")
                ax.fill_between(c.m, certified, certified + undecided, step="mid",
                                color=OKABE_ITO[4], alpha=0.45, lw=0, label="undecided (cap)",
                                gid="undecided")
            low, high = clopper_pearson(f, r, confidence)
            ax.fill_between(c.m, low, high, color=OKABE_ITO[0], alpha=0.25, lw=0,
                            label=f"{confidence:.0%} Clopper-Pearson")
            ax.plot(c.m, f / r, marker="o", ms=2.5, color=OKABE_ITO[0], label="failure rate")
            ax.axhline(c.delta, color=OKABE_ITO[3], ls="--", lw=0.9, label=f"delta = {c.delta:g}",
                       gid="delta")
            ax.axvline(c.bound, color=OKABE_ITO[1], ls=":", lw=1.1, label="m_AN (Abbeel & Ng)",
                       gid="m_AN")
            _log_axes(ax, y=False)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(LABELS["m"])
            ax.set_ylabel(f"{LABELS['rate']} ({criterion})")
            ax.set_title(f"{c.features} k={c.k} gamma={c.gamma:g} {c.method}")
        axes[0].legend(loc="upper right")
        fig.tight_layout()
    return fig


def plot_looseness(cells, criterion="theorem"):
    """(c) bound / empirical m* against k for every bound (cells with m* found)."""
    groups = _panels(cells)
    with plt.rc_context(STYLE):
        fig, axes = _figure(len(groups), height=2.8)
        for ax, ((features, method), group) in zip(axes, groups.items()):
            for gi, g in enumerate(_gammas(group)):
                found = sorted((c for c in group if c.gamma == g
                                and c.mstar.get(criterion, {}).get("status") in ("found", "below_min")),
                               key=lambda c: c.k)
                if not found:
                    continue
                k = np.array([c.k for c in found], float)
                star = np.array([c.mstar[criterion]["m_star"] for c in found], float)
                for bi, (name, (bound, crit, _)) in enumerate(bounds.BOUNDS.items()):
                    if name not in applicable_bounds(features):
                        continue
                    line, = ax.plot(k, bound(k, g, found[0].eps, found[0].delta) / star,
                                    color=OKABE_ITO[bi % len(OKABE_ITO)], ls=LINESTYLES[gi % 4],
                                    marker=MARKERS[gi % len(MARKERS)], ms=3,
                                    label=f"{name}, gamma={g:g}")
                    line.set_gid(f"looseness:{name}:{g:g}")
            if not ax.get_lines():  # no cell has an m* yet (unfinished, or all above the cap)
                ax.text(0.5, 0.5, f"no m* found ({criterion})", transform=ax.transAxes,
                        ha="center", va="center", gid="looseness-empty")
            ax.axhline(1.0, color="black", lw=0.8, gid="tight")
            _log_axes(ax)
            _k_ticks(ax, group)
            ax.set_xlabel(LABELS["k"])
            ax.set_ylabel("bound / empirical m*")
            ax.set_title(f"looseness: {features} features, {method}\ncriterion {criterion}")
            _legend_below(ax)
        fig.tight_layout()
    return fig


def plot_seed_table(cells, criterion="theorem"):
    """(d) the seed table: per (features, gamma) x k, m_AN, empirical m* [interval], ratio; of
    cells two runs measured, the one with more replicates (as the report)."""
    ks = sorted({c.k for c in cells})
    rows = sorted({(c.features, c.method, c.gamma) for c in cells})
    by_key = most_replicated(cells, lambda c: (c.features, c.method, c.gamma, c.k))
    text = []
    for key in rows:
        line = []
        for k in ks:
            c = by_key.get((*key, k))
            if c is None:
                line.append("")
                continue
            row = c.mstar.get(criterion)
            ratio = (f"{number_text(c.bound / row['m_star'])}x" if row is not None and row["status"] == "found"
                     else "-")
            line.append(f"m_AN {count_text(c.bound)}\nm* {mstar_text(row)}\nm_AN/m* {ratio}")
        text.append(line)
    labels = [f"{f}\n{a}\ngamma = {g:g}" for f, a, g in rows]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(1.5 * (len(ks) + 1), 0.35 + 0.5 * (len(rows) + 1)))
        ax.axis("off")
        table = ax.table(cellText=[[label, *line] for label, line in zip(labels, text)],
                         colLabels=["", *[f"k = {k}" for k in ks]], bbox=[0, 0, 1, 1],
                         cellLoc="center")
        table.auto_set_font_size(False)
        table.set_fontsize(6.5)
        table.set_gid("seed_table")
        ax.set_title(f"Seed table: Abbeel & Ng bound vs empirical m* (criterion {criterion})",
                     pad=6)
    return fig


def plot_performance(cells):
    """Value of the learned policy relative to the expert's against m (Abbeel & Ng Fig. 4)."""
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(PANEL, 2.5))
        for i, c in enumerate(cells):
            line, = ax.plot(c.m, c.performance, marker=MARKERS[i % len(MARKERS)], ms=3,
                            color=OKABE_ITO[i % len(OKABE_ITO)],
                            label=f"{c.family} k={c.k} gamma={c.gamma:g} {c.method}")
            line.set_gid(f"performance:{c.cell_id[:8]}")
        ax.axhline(1.0, color="black", lw=0.8, ls="--", label="expert")
        _log_axes(ax, y=False)
        ax.set_xlabel(LABELS["m"])
        ax.set_ylabel("value of learned policy / expert's")
        ax.legend(loc="lower right")
        fig.tight_layout()
    return fig


def _full_rank(rows):
    """Rows of the full-rank model (r = d) only: the headline of the elbow experiment."""
    return [r for r in rows if r["rank"] == r["d"]]


def plot_elbow_curves(curves, elbows):
    """Held-out accuracy against N per k (full rank), the elbow and its interval marked."""
    curves, elbows = _full_rank(curves), _full_rank(elbows)
    noises = sorted({r["noise"] for r in curves})
    with plt.rc_context(STYLE):
        fig, axes = _figure(len(noises), height=2.6)
        for ax, noise in zip(axes, noises):
            ks = sorted({r["k"] for r in curves if r["noise"] == noise})
            for i, k in enumerate(ks):
                rows = sorted((r for r in curves if r["noise"] == noise and r["k"] == k),
                              key=lambda r: r["n"])
                n = np.array([r["n"] for r in rows])
                acc = np.array([r["accuracy"] for r in rows])
                color = OKABE_ITO[i % len(OKABE_ITO)]
                line, = ax.plot(n, acc, color=color, marker=MARKERS[i % len(MARKERS)], ms=2.5,
                                label=f"k = {k}")
                line.set_gid(f"accuracy:{k}")
                ax.axhline(rows[0]["bayes_accuracy"], color=color, ls=":", lw=0.8)
                elbow = next((e for e in elbows if e["noise"] == noise and e["k"] == k), None)
                if elbow and elbow["n_elbow"] is not None:
                    y = float(np.interp(np.log(elbow["n_elbow"]), np.log(n), acc))
                    lo = elbow["n_low"] if elbow["n_low"] is not None else elbow["n_elbow"]
                    hi = elbow["n_high"] if elbow["n_high"] is not None else elbow["n_elbow"]
                    bar = ax.errorbar([elbow["n_elbow"]], [y], xerr=[[elbow["n_elbow"] - lo], [hi - elbow["n_elbow"]]],
                                      fmt="*", ms=7, color=color, capsize=2)
                    bar.lines[0].set_gid(f"elbow:{k}")
            _log_axes(ax, y=False)
            ax.set_xlabel("pairwise comparisons N")
            ax.set_ylabel("held-out accuracy (expected)")
            ax.set_title(f"rank-d fits, temperature {noise:g}\n"
                         "star: elbow (bootstrap interval); dotted: Bayes")
            ax.legend(loc="lower right")
        fig.tight_layout()
    return fig


def plot_elbow_scaling(elbows):
    """N_elbow against k, log-log, with the text's (k = 10, N = 150) and fitted k, k log k, k^2."""
    from .elbow.experiment import SCALINGS, fit_scalings

    elbows = [e for e in _full_rank(elbows) if e["n_elbow"] is not None]
    noises = sorted({e["noise"] for e in elbows})
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(PANEL, 2.8))
        all_k = [e["k"] for e in elbows]
        k_line = np.geomspace(min(all_k + [10]) / 1.2, max(all_k + [10]) * 1.2, 50)
        for i, noise in enumerate(noises):
            rows = sorted((e for e in elbows if e["noise"] == noise), key=lambda e: e["k"])
            k = np.array([e["k"] for e in rows], float)
            n = np.array([e["n_elbow"] for e in rows], float)
            lo = n - np.array([e["n_low"] if e["n_low"] is not None else e["n_elbow"] for e in rows])
            hi = np.array([e["n_high"] if e["n_high"] is not None else e["n_elbow"] for e in rows]) - n
            bar = ax.errorbar(k, n, yerr=[lo, hi], fmt=MARKERS[i % len(MARKERS)], color="black",
                              capsize=2, ms=4, label=f"N_elbow, temperature {noise:g}")
            bar.lines[0].set_gid(f"n_elbow:{noise:g}")
            if len(rows) >= 2:
                for j, (name, (c, rms)) in enumerate(fit_scalings(k, n).items()):
                    line, = ax.plot(k_line, c * SCALINGS[name](k_line), color=OKABE_ITO[(j + 1) % 8],
                                    ls=LINESTYLES[i % 4], lw=0.9,
                                    label=f"{c:.3g} x {name} (rms log residual {rms:.2f})")
                    line.set_gid(f"scaling:{name}:{noise:g}")
        ax.plot([10], [150], marker="X", ms=8, color=OKABE_ITO[3], ls="none", gid="claim",
                label="the text's claim: N ~ 150 at k ~ 10")
        _log_axes(ax)
        from matplotlib.ticker import FixedLocator, NullLocator

        ticks = sorted(set(all_k) | {10})
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([str(k) for k in ticks])
        ax.set_xlabel("latent utility dimension k")
        ax.set_ylabel("elbow N (comparisons)")
        ax.legend(loc="upper left", fontsize=5.5)
    return fig


def plot_ladder(explanations):
    """The ladder of :mod:`mcirl.ladder` per cell (a waterfall on a log axis, from m_AN down to
    the predicted m* of l2, with the measured m* of l2 beside it) and, where the cells span
    several k, each step's factor against k by features and gamma: which relaxation carries
    the bound's k-dependence. explanations: :class:`mcirl.explain.CellExplanation` objects."""
    from .ladder import STEPS

    ks = sorted({e.k for e in explanations})
    two = len(ks) > 1
    groups = {}  # (features, gamma) -> cells by k
    for e in explanations:
        groups.setdefault((e.features, e.gamma), []).append(e)
    groups = {key: sorted(g, key=lambda e: e.k) for key, g in groups.items()}
    fig, axes = _figure(2 if two else 1, height=2.8)
    ax = axes[0]
    x = np.arange(len(STEPS))
    shown = explanations
    if len(explanations) > LADDER_CELLS:  # a waterfall per cell stays legible for a few only
        ends = [e for g in groups.values() for e in (g[0], g[-1])]
        shown = [e for i, e in enumerate(ends) if all(e is not o for o in ends[:i])][:LADDER_CELLS]
    for i, e in enumerate(shown):
        colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
        label = f"{e.features} k={e.k} gamma={e.gamma:g}"
        line, = ax.plot(x, [s["m"] for s in e.ladder], color=colour, marker=marker,
                        drawstyle="steps-mid", label=label)
        line.set_gid(f"ladder:{e.label}")
        row = e.measured.get("l2")
        if row is not None and row["status"] == "found":
            point, = ax.plot([x[-1] + 0.3], [row["m_star"]], ls="none", marker=marker,
                             mfc="none", color=colour)
            point.set_gid(f"measured:{e.label}")
    ax.plot([], [], ls="none", marker="o", mfc="none", color="#555555", label="measured m* (l2)")
    _log_axes(ax, x=False)
    ax.set_xticks(x)
    ax.set_xticklabels(["m_AN", "variance", "joint", "l2\ndirect", "learner's\nneed"], fontsize=6)
    ax.set_xlim(-0.3, x[-1] + 0.6)
    ax.set_ylabel("trajectories m")
    ax.set_title("(a) from m_AN to the predicted m*" + (
        "" if shown is explanations else "\nat each family's smallest and largest k"))
    _legend_below(ax, ncol=1)
    if two:
        ax = axes[1]
        styles = sorted(groups.items())
        for si, step in enumerate(STEPS[1:], start=1):
            colour = OKABE_ITO[si % len(OKABE_ITO)]
            ax.plot([], [], color=colour, lw=3, label=step)
            for li, ((features, gamma), group) in enumerate(styles):
                if len(group) < 2:
                    continue
                line, = ax.plot([e.k for e in group], [e.ladder[si]["factor"] for e in group],
                                color=colour, ls=LINESTYLES[li % 4], marker=MARKERS[li % len(MARKERS)])
                line.set_gid(f"factor:{step}:{features}:{gamma:g}")
        for li, ((features, gamma), _) in enumerate(styles):
            ax.plot([], [], color="#555555", ls=LINESTYLES[li % 4], marker=MARKERS[li % len(MARKERS)],
                    label=f"{features}, gamma={gamma:g}")
        _log_axes(ax)
        _k_ticks(ax, explanations)
        if len(ks) > 6:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel(LABELS["k"])
        ax.set_ylabel("factor of the step")
        ax.set_title("(b) each step's factor against k")
        _legend_below(ax, ncol=2)
    fig.subplots_adjust(wspace=0.4)
    return fig


def write_plots(cells, out_dir, fmt="png", criterion="theorem", elbow=None,
                field="--out", explanations=None) -> list[Path]:
    """Save figures (a)-(d), the performance curve, given explanations (mcirl.explain) the
    ladder and, given elbow = (curves, elbows), the elbow figures as out_dir/<name>.<fmt>,
    atomically (``field`` names out_dir in errors)."""
    out_dir = output_dir(out_dir, field)
    figures = {}
    if cells:
        figures = {"mstar_vs_k": plot_mstar_vs_k(cells, criterion),
                   "failure_rates": plot_failure_curves(cells, criterion),
                   "looseness": plot_looseness(cells, criterion),
                   "seed_table": plot_seed_table(cells, criterion)}
        measured = [c for c in cells if np.isfinite(c.performance).any()]
        if measured:  # databases written before performance was recorded have none
            figures["performance"] = plot_performance(measured)
    if explanations:
        figures["ladder"] = plot_ladder(explanations)
    if elbow is not None and elbow[0]:
        figures["elbow_curves"] = plot_elbow_curves(*elbow)
        figures["elbow_scaling"] = plot_elbow_scaling(elbow[1])
    paths = []
    for name, fig in figures.items():
        path = out_dir / f"{name}.{fmt}"
        with atomic_path(path, field) as tmp:
            fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=STYLE["savefig.dpi"])
        plt.close(fig)
        paths.append(path)
    return paths
