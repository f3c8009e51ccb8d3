"""Empirical-vs-theory figures (matplotlib, without pyplot).

Each ``plot_*`` function takes :class:`~mcirl.results.CellSummary` objects and returns a
:class:`matplotlib.figure.Figure`; :func:`write_plots` checks which kinds the data fit, saves
them and says which it skipped and why. Figures are built as ``Figure`` objects, never through
pyplot, so mcirl changes no global backend or state of a notebook that imports it; saving picks
the canvas for the file format. One house style for all (``styles/mcirl.mplstyle``, applied as a
context): Okabe-Ito colours with markers that also separate series in greyscale, 8 pt type, one-
(3.4 in) and two-column (7.0 in) journal widths, log axes labelled 10^n, shared x-ranges across
the panels of a figure, legends outside the data. Artists carry ``gid`` tags
("bound:<name>:<gamma>", "mstar:<gamma>", "delta", "m_AN", ...) so tests and users can find
what is drawn.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.style
import numpy as np
from matplotlib.figure import Figure

from . import bounds
from .output import atomic_path, count_text, number_text, output_dir
from .results import most_replicated, mstar_text, resolved
from .stats import slope, slope_interval

STYLE_FILE = Path(__file__).parent / "styles" / "mcirl.mplstyle"
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v"]
PANEL = 3.4  #: inches: one journal column
TWO_COLUMNS = 7.0  #: inches: a two-column figure
DPI = 200  #: raster (PNG) resolution
#: Most cells the ladder figure draws a waterfall for (beyond: each family's smallest and largest k).
LADDER_CELLS = 8
LABELS = {"m": "expert trajectories m", "k": "features k", "rate": "failure rate"}
#: The bound a reader compares with: drawn bold in its gamma's colour; the others thin and grey.
HEADLINE_BOUND = "abbeel-ng"
#: The failure-rate figure's strip of row outcomes, bottom up: the successes first.
STRIP = ("assured", "terminated", "certified", "undecided")


@contextmanager
def house_style():
    """The house style as a context (rcParams restored on exit: nothing global changes)."""
    with matplotlib.style.context(STYLE_FILE):
        yield


def _panels(cells):
    """Cells grouped by (features, method) and, where the cells hold several, (eps, delta):
    one panel each (the panel's title names eps and delta)."""
    groups: dict[tuple, list] = {}
    for c in cells:
        groups.setdefault((c.features, c.method, c.eps, c.delta), []).append(c)
    return groups


def _figure(n_panels, height=2.6, columns=None, sharex=False):
    """A figure of n panels: one column wide for one panel, two columns wide for more."""
    columns = columns or min(n_panels, 2)
    rows = -(-n_panels // columns)
    width = PANEL if columns == 1 else TWO_COLUMNS * min(1.0, columns / 2) if columns <= 2 else TWO_COLUMNS
    fig = Figure(figsize=(width, height * rows))
    axes = fig.subplots(rows, columns, squeeze=False, sharex=sharex)
    for ax in axes.ravel()[n_panels:]:
        ax.set_visible(False)
    return fig, axes.ravel()[:n_panels]


def _log_axes(ax, x=True, y=True):
    """Log scales labelled 10^n at every decade, the same on every axis of every figure; an axis
    spanning less than about a decade also labels its minor ticks (2 x 10^0, ...), so that it
    never shows no number at all."""
    from matplotlib.ticker import LogFormatterSciNotation, LogLocator

    for on, axis, scale in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            scale("log")
            axis.set_major_locator(LogLocator(base=10, numticks=7))
            axis.set_major_formatter(LogFormatterSciNotation())
            axis.set_minor_formatter(LogFormatterSciNotation(labelOnlyBase=False, minor_thresholds=(0.7, 0.3)))


def _decades(low, high):
    """[low, high] widened to whole decades (at least one): a log axis's range."""
    low, high = max(low, 1e-300), max(high, low)
    return 10.0 ** np.floor(np.log10(low)), 10.0 ** np.ceil(np.log10(high) + (high == low))


def _around(low, high, margin=1.6):
    """A log axis's range with the data's end points inside it, not on the frame."""
    return low / margin, high * margin


def _legend_below(ax, ncol=2, offset=-0.28):
    """The panel's legend under its axes, outside the data."""
    if ax.get_legend_handles_labels()[0]:  # a panel with nothing measured yet has no legend
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, offset), ncol=ncol)


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


def _predicted(explanations, criterion) -> dict:
    """cell id -> the predicted m* of mcirl.explain for criterion."""
    return {e.cell_id: e.predicted[criterion]["m"] for e in explanations or ()
            if criterion in e.predicted}


def plot_mstar_vs_k(cells, criterion="theorem", explanations=None):
    """(a) the headline: measured m* with [m_lo, m_hi] against k, log-log, per feature family
    and learner; colour and marker by gamma; Abbeel & Ng's bound bold in its gamma's colour and
    the other bounds thin and grey; the fitted slope of log m* against log k with the range the
    intervals allow (:func:`mcirl.stats.slope_interval`) in the legend; mcirl explain's predicted m* as a
    dotted line where given."""
    groups = _panels(cells)
    predicted = _predicted(explanations, criterion)
    others = [n for n in bounds.BOUNDS if n != HEADLINE_BOUND] + ["bernstein"]
    grey = {name: (LINESTYLES[i % 4], None if i < 4 else "x") for i, name in enumerate(others)}
    with house_style():
        fig, axes = _figure(len(groups), height=3.2)
        for ax, ((features, method, eps, delta), group) in zip(axes, groups.items()):
            ks_all = np.array([c.k for c in group], dtype=float)
            ks = np.geomspace(ks_all.min(), ks_all.max(), 60)

            for gi, g in enumerate(_gammas(group)):
                colour, marker = OKABE_ITO[gi % len(OKABE_ITO)], MARKERS[gi % len(MARKERS)]
                at = sorted((c for c in group if c.gamma == g), key=lambda c: c.k)
                for name, (bound, crit, _) in bounds.BOUNDS.items():
                    if name not in applicable_bounds(features):
                        continue
                    headline = name == HEADLINE_BOUND
                    ls, _ = grey.get(name, ("-", None))
                    line, = ax.plot(ks, bound(ks, g, eps, delta), color=colour if headline else "0.6",
                                    lw=2.0 if headline else 0.7, ls="-" if headline else ls,
                                    zorder=2 if headline else 1,
                                    label=(f"Abbeel & Ng bound, gamma={g:g}" if headline
                                           else f"{name} ({crit})" if gi == 0 else None))
                    line.set_gid(f"bound:{name}:{g:g}")
                measured = [c for c in at if np.isfinite(c.variance)]
                if measured:
                    yb = [float(bounds.bernstein_trajectories(c.k, g, eps, delta, [c.variance])) for c in measured]
                    line, = ax.plot([c.k for c in measured], yb, color="0.6", lw=0.7, ls=grey["bernstein"][0],
                                    marker="x", ms=3, label="bernstein, measured variance" if gi == 0 else None)
                    line.set_gid(f"bound:bernstein:{g:g}")
                pts = _mstar_points(at, criterion)
                if pts:
                    k, m, lo, hi, above = (np.array(v) for v in zip(*pts))
                    found = ~above
                    fit = slope(k[found], m[found])
                    low, high = slope_interval(k[found], m[found] - lo[found], m[found] + hi[found])
                    label = f"measured m*, gamma={g:g}" + (
                        f": slope {fit:.2f} [{low:.2f}, {high:.2f}]" if np.isfinite(fit) else "")
                    cont = ax.errorbar(k[found], m[found], yerr=[lo[found], hi[found]], fmt=marker,
                                       color=colour, ms=5, mec="black", mew=0.5, elinewidth=1.0,
                                       zorder=4, label=label)
                    cont.lines[0].set_gid(f"mstar:{g:g}")
                    if above.any():
                        cap = ax.errorbar(k[above], m[above], yerr=0.5 * m[above], lolims=True, fmt=marker,
                                          mfc="white", color=colour, ms=5, zorder=4,
                                          label=f"m* > cap, gamma={g:g}")
                        cap.lines[0].set_gid(f"above_cap:{g:g}")
                guess = [(c.k, predicted[c.cell_id]) for c in at if c.cell_id in predicted]
                if guess:
                    line, = ax.plot(*zip(*guess), color=colour, ls=":", lw=1.2, marker=marker, mfc="none",
                                    ms=4, zorder=3, label=f"predicted m* (mcirl explain), gamma={g:g}")
                    line.set_gid(f"predicted:{g:g}")
            _log_axes(ax)
            ax.set_xlim(*_around(min(c.k for c in cells), max(c.k for c in cells)))  # shared by panels
            ax.set_xlabel(LABELS["k"])
            ax.set_ylabel(LABELS["m"])
            ax.set_title(f"{features} features, {method}\ncriterion {criterion}, eps = {eps:g}, delta = {delta:g}")
            _legend_below(ax, ncol=2 if len(groups) == 1 else 1, offset=-0.2)
    return fig


def plot_failure_curves(cells, criterion="theorem", confidence=0.95, explanations=None):
    """(b) failure rate against m per cell on one shared m axis, with its Clopper-Pearson band;
    delta as a shaded band (the target region), m_AN, the measured m* with [m_lo, m_hi] and
    mcirl explain's predicted m* marked;
    under each curve a strip of how the learner's rows ended (assured: proven to succeed, not
    run; terminated; certified: proven never to stop; undecided: stopped by the cap; the last
    two are failures)."""
    predicted = _predicted(explanations, criterion)
    swept = len({(c.eps, c.delta) for c in cells}) > 1  # then each panel names its eps, delta
    columns = 2 if len(cells) in (2, 4) else min(len(cells), 3)
    rows = -(-len(cells) // columns)
    with house_style():
        fig = Figure(figsize=(PANEL if columns == 1 else TWO_COLUMNS, 2.9 * rows - 0.5))
        # per row of panels: the curve, the outcome strip under it, a gap for the labels
        grid = fig.add_gridspec(3 * rows - 1, columns, height_ratios=([4, 1.1, 1.7] * rows)[:-1],
                                hspace=0.08, wspace=0.3)
        low_m = min(float(c.m.min()) for c in cells)
        high_m = max(max(float(c.m.max()), c.bound, predicted.get(c.cell_id, 0.0)) for c in cells)
        xlim = _decades(low_m, high_m * 1.5)
        axes, strips = [], []
        for i, c in enumerate(cells):
            r, col = divmod(i, columns)
            ax = fig.add_subplot(grid[3 * r, col])
            strip = fig.add_subplot(grid[3 * r + 1, col], sharex=ax)
            axes.append(ax)
            strips.append(strip)
            f, n = c.failures[criterion], c.reps
            ax.axhspan(0, c.delta, color=OKABE_ITO[2], alpha=0.15, lw=0, gid="delta",
                       label=f"failure rate <= delta = {c.delta:g}")
            low, high = c.interval(criterion, confidence)
            ax.fill_between(c.m, low, high, color=OKABE_ITO[0], alpha=0.25, lw=0, gid="band",
                            label=f"{confidence:.0%} interval" + (" (confidence sequence where a "
                                                                  "point stopped early)" if (n < c.full_reps).any() else
                                                                  " (Clopper-Pearson)"))
            stopped = n < c.full_reps
            if stopped.any():
                ax.plot(c.m[stopped], (f / n)[stopped], ls="none", marker="o", ms=4, mfc="none",
                        color=OKABE_ITO[0], gid="stopped", label="stopped early (rows used < all)")
            ax.plot(c.m, f / n, marker="o", ms=2.5, color=OKABE_ITO[0], label="failure rate")
            ax.axvline(c.bound, color=OKABE_ITO[3], ls="--", lw=1.1, label="m_AN (Abbeel & Ng)", gid="m_AN")
            if c.cell_id in predicted:
                ax.axvline(predicted[c.cell_id], color=OKABE_ITO[4], ls=":", lw=1.3,
                           label="predicted m* (mcirl explain)", gid="predicted")
            row = c.mstar.get(criterion)
            if resolved(row):  # the measured m*, and its interval where both ends are known
                ax.axvline(row["m_star"], color=OKABE_ITO[1], lw=1.3, gid="mstar",
                           label=f"measured m* ({criterion}) [m_lo, m_hi]")
                if row["m_lo"] is not None and row["m_hi"] is not None:
                    ax.axvspan(row["m_lo"], row["m_hi"], color=OKABE_ITO[1], alpha=0.12, lw=0,
                               gid="mstar_interval")
            ax.set_ylim(-0.02, 1.02)
            if col == 0:
                ax.set_ylabel(f"{LABELS['rate']} ({criterion})")
            ax.set_title(f"{c.features}, k = {c.k}, gamma = {c.gamma:g}, {c.method}"
                         + (f"\neps = {c.eps:g}, delta = {c.delta:g}" if swept else ""), fontsize=7)
            ax.tick_params(labelbottom=False)
            shares = [c.outcomes[name] / n for name in STRIP] if c.outcomes \
                else [np.zeros(c.m.size), np.ones(c.m.size), np.zeros(c.m.size), np.zeros(c.m.size)]
            stack = strip.stackplot(c.m, *shares, step="mid",
                                    colors=[OKABE_ITO[2], OKABE_ITO[5], "0.55", OKABE_ITO[4]], alpha=0.7,
                                    labels=["assured (proven success)", "rows terminated",
                                            "certified (never stop)", "undecided (cap)"])
            for poly, name in zip(stack, STRIP):
                poly.set_gid(name)
            strip.set_ylim(0, 1)
            strip.set_yticks([0, 1])
            if col == 0:
                strip.set_ylabel("rows", fontsize=6)
            strip.set_xlabel(LABELS["m"])
            _log_axes(strip, y=False)
            strip.set_xlim(*xlim)
        legend = {}  # every label any panel drew (m* or a prediction may be missing from some)
        for a in (*axes, strips[0]):
            for handle, label in zip(*a.get_legend_handles_labels()):
                legend.setdefault(label, handle)
        fig.legend(list(legend.values()), list(legend), loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=3)
    return fig


def plot_looseness(cells, criterion="theorem"):
    """(c) bound / empirical m* against k for every bound (cells with m* found)."""
    groups = _panels(cells)
    with house_style():
        fig, axes = _figure(len(groups), height=2.8)
        for ax, ((features, method, eps, delta), group) in zip(axes, groups.items()):
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
            ax.set_xlim(*_around(min(c.k for c in cells), max(c.k for c in cells)))  # shared by panels
            ax.set_xlabel(LABELS["k"])
            ax.set_ylabel("bound / empirical m*")
            ax.set_title(f"how loose each bound is: {features} features\n{method}, criterion {criterion}"
                         + (f", eps = {eps:g}, delta = {delta:g}" if len(groups) > 1 else ""))
            _legend_below(ax, ncol=2 if len(groups) == 1 else 1)
    return fig


def plot_seed_table(cells, criterion="theorem"):
    """(d) the seed table: per (features, gamma) x k, m_AN, empirical m* [interval], ratio; of
    cells two runs measured, the one with more replicates (as the report)."""
    ks = sorted({c.k for c in cells})
    rows = sorted({(c.features, c.method, c.eps, c.delta, c.gamma) for c in cells})
    by_key = most_replicated(cells, lambda c: (c.features, c.method, c.eps, c.delta, c.gamma, c.k))
    text = []
    for key in rows:
        line = []
        for k in ks:
            c = by_key.get((*key, k))
            if c is None:
                line.append("")
                continue
            row = c.mstar.get(criterion)
            ratio = (f"{number_text(c.bound / row['m_star'])}x" if resolved(row)
                     else "-")
            line.append(f"m_AN {count_text(c.bound)}\nm* {mstar_text(row)}\nm_AN/m* {ratio}")
        text.append(line)
    several = len({(e, d) for _, _, e, d, _ in rows}) > 1  # then each row names its eps, delta
    labels = [f"{f}\n{a}\ngamma = {g:g}" + (f"\neps = {e:g}, delta = {d:g}" if several else "")
              for f, a, e, d, g in rows]
    with house_style():
        fig = Figure(figsize=(min(TWO_COLUMNS, 1.7 * (len(ks) + 1)), 0.35 + 0.55 * (len(rows) + 1)))
        ax = fig.subplots()
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
    """Value of the learned policy relative to the expert's against m (Abbeel & Ng 2004,
    Fig. 4), one line per cell labelled by its features and parameters, with a 95% bootstrap
    band over MDP instances (the store keeps each task's mean, not every replicate)."""
    with house_style():
        fig = Figure(figsize=(PANEL, 3.0))
        ax = fig.subplots()
        for i, c in enumerate(cells):
            colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
            if c.performance_band is not None:
                ax.fill_between(c.m, *c.performance_band, color=colour, alpha=0.15, lw=0,
                                gid=f"performance-band:{c.cell_id[:8]}")
            line, = ax.plot(c.m, c.performance, marker=marker, ms=3, color=colour,
                            label=f"{c.features} k={c.k} gamma={c.gamma:g} {c.method}")
            line.set_gid(f"performance:{c.cell_id[:8]}")
        ax.axhline(1.0, color="black", lw=0.8, ls="--", label="the expert")
        _log_axes(ax, y=False)
        ax.set_xlim(*_decades(min(float(c.m.min()) for c in cells), max(float(c.m.max()) for c in cells)))
        ax.set_xlabel(LABELS["m"])
        ax.set_ylabel("value of learned policy / expert's")
        ax.set_title("learned policy's value (band: 95% bootstrap over MDP instances)")
        _legend_below(ax, ncol=1, offset=-0.22)
    return fig


#: Panels of the learners figure at most (the settings with the most learners first).
LEARNER_PANELS = 6


def learner_groups(cells) -> dict:
    """{setting: cells} of the cells that differ only in the learner (algorithm and its
    options), for settings with at least two learners; a setting is everything else that
    makes a cell (features, k, gamma, S, eps, delta, lengths)."""
    groups: dict[tuple, list] = {}
    for c in cells:
        groups.setdefault((c.features, c.k, c.gamma, c.S, c.eps, c.delta, c.lengths), []).append(c)
    return {key: sorted(group, key=lambda c: c.method) for key, group in groups.items()
            if len({c.method for c in group}) > 1}


def plot_learners(cells, criterion="theorem", confidence=0.95):
    """The failure curves of cells that differ only in the learner, overlaid: one panel per
    setting (LEARNER_PANELS at most), each learner's rate with its interval and its measured
    m* (a vertical line in its colour), delta shaded."""
    groups = sorted(learner_groups(cells).items(), key=lambda kv: -len(kv[1]))[:LEARNER_PANELS]
    with house_style():
        fig, axes = _figure(len(groups), height=2.8)
        for ax, ((features, k, gamma, _, eps, delta, lengths), group) in zip(axes, groups):
            ax.axhspan(0, delta, color="0.85", lw=0, gid="delta", label=f"failure rate <= delta = {delta:g}")
            for i, c in enumerate(group):
                colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
                low, high = c.interval(criterion, confidence)
                ax.fill_between(c.m, low, high, color=colour, alpha=0.15, lw=0)
                line, = ax.plot(c.m, c.failures[criterion] / c.reps, marker=marker, ms=2.5, color=colour,
                                label=c.method)
                line.set_gid(f"learner:{c.method}")
                row = c.mstar.get(criterion)
                if resolved(row):
                    ax.axvline(row["m_star"], color=colour, lw=1.0, ls="--", gid=f"mstar:{c.method}")
            _log_axes(ax, y=False)
            ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel(LABELS["m"])
            ax.set_ylabel(f"{LABELS['rate']} ({criterion})")
            ax.set_title(f"{features}, k = {k}, gamma = {gamma:g}, eps = {eps:g}"
                         + ("" if lengths == "truncated" else f", {lengths} lengths"), fontsize=7)
            ax.legend(fontsize=6, loc="upper right")
    return fig


def _full_rank(rows):
    """Rows of the full-rank model (r = d) only: the headline of the elbow experiment."""
    return [r for r in rows if r["rank"] == r["d"]]


def plot_elbow_curves(curves, elbows):
    """Held-out accuracy against N per k (full rank), the elbow and its interval marked."""
    curves, elbows = _full_rank(curves), _full_rank(elbows)
    noises = sorted({r["noise"] for r in curves})
    with house_style():
        fig, axes = _figure(len(noises), height=2.8, sharex=True)
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
                    spread = [[max(elbow["n_elbow"] - lo, 0)], [max(hi - elbow["n_elbow"], 0)]]
                    bar = ax.errorbar([elbow["n_elbow"]], [y], xerr=spread, fmt="*", ms=7, color=color, capsize=2)
                    bar.lines[0].set_gid(f"elbow:{k}")
            _log_axes(ax, y=False)
            ax.set_xlabel("pairwise comparisons N")
            ax.set_ylabel("held-out accuracy (expected)")
            ax.set_title(f"held-out accuracy of full-rank fits, temperature {noise:g}")
            ax.plot([], [], ls="none", marker="*", color="0.3", label="elbow (bootstrap interval)")
            ax.plot([], [], ls=":", color="0.3", label="Bayes accuracy")
            _legend_below(ax, ncol=3, offset=-0.22)
    return fig


def plot_elbow_scaling(elbows):
    """N_elbow with its interval over instances against k, log-log, per temperature (colour and
    marker), with the free power-law fit (its exponent's interval over instances in the legend)
    and the best of the fixed forms, and the text's claim (k = 10, N = 150)."""
    from .elbow.experiment import SCALINGS, scaling_fits

    full = [e for e in _full_rank(elbows) if e["n_elbow"] is not None]
    noises = sorted({e["noise"] for e in full})
    with house_style():
        fig = Figure(figsize=(PANEL, 3.4))
        ax = fig.subplots()
        all_k = [e["k"] for e in full]
        k_line = np.geomspace(min(all_k + [10]) / 1.2, max(all_k + [10]) * 1.2, 50)
        for i, noise in enumerate(noises):
            colour, marker = OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]
            rows = sorted((e for e in full if e["noise"] == noise), key=lambda e: e["k"])
            k = np.array([e["k"] for e in rows], float)
            n = np.array([e["n_elbow"] for e in rows], float)
            lo = n - np.array([e["n_low"] if e["n_low"] is not None else e["n_elbow"] for e in rows])
            hi = np.array([e["n_high"] if e["n_high"] is not None else e["n_elbow"] for e in rows]) - n
            bar = ax.errorbar(k, n, yerr=[np.maximum(lo, 0), np.maximum(hi, 0)], fmt=marker, color=colour,
                              mec="black", mew=0.5, ms=5, zorder=3, label=f"N_elbow, temperature {noise:g}")
            bar.lines[0].set_gid(f"n_elbow:{noise:g}")
            fit = scaling_fits([e for e in elbows if e["noise"] == noise and e["rank"] == e["d"]])
            if fit:
                slope, low, high = fit["slope"]
                a = float(np.mean(np.log(n) - slope * np.log(k)))
                interval = "" if low is None else f" [{low:.2f}, {high:.2f}]"
                line, = ax.plot(k_line, np.exp(a) * k_line ** slope, color=colour, ls="-", lw=1.0,
                                label=f"T={noise:g}: N ~ k^{slope:.2f}{interval}")
                line.set_gid(f"scaling:free:{noise:g}")
                forms = fit["forms"]
                best = min(forms, key=lambda name: forms[name][1])
                line, = ax.plot(k_line, forms[best][0] * SCALINGS[best](k_line), color=colour, ls="--",
                                lw=0.9, label=f"T={noise:g}: best form {number_text(forms[best][0])} * {best}")
                line.set_gid(f"scaling:best:{noise:g}")
        ax.plot([10], [150], marker="X", ms=8, color=OKABE_ITO[3], ls="none", gid="claim",
                label="the text's claim: N ~ 150 at k ~ 10")
        _log_axes(ax)
        ax.set_xlim(*_around(min(all_k + [10]), max(all_k + [10])))
        ax.set_xlabel("latent utility dimension k")
        ax.set_ylabel("elbow N (comparisons)")
        ax.set_title("where the accuracy curve bends, against k")
        _legend_below(ax, ncol=1, offset=-0.2)
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
    with house_style():
        return _ladder_figure(explanations, groups, ks, two, STEPS)


def _ladder_figure(explanations, groups, ks, two, STEPS):
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
        if resolved(row):
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
        ax.set_xlim(*_around(min(ks), max(ks)))
        ax.set_xlabel(LABELS["k"])
        ax.set_ylabel("factor of the step")
        ax.set_title("(b) each step's factor against k")
        _legend_below(ax, ncol=2)
    fig.subplots_adjust(wspace=0.4)
    return fig


@dataclass(frozen=True)
class Figures:
    """What :func:`write_plots` wrote: the files, a one-line description of each (the alt text
    the report gives them), and the kinds it did not draw with the reason."""

    paths: list = field(default_factory=list)
    alt: dict = field(default_factory=dict)  #: path -> one-line description
    skipped: dict = field(default_factory=dict)  #: kind -> why it was not drawn

    def __iter__(self):  # a Figures reads as its list of paths
        return iter(self.paths)

    def __len__(self):
        return len(self.paths)


def _several_k(cells) -> str | None:
    """Why a figure against k does not fit (None: it does): every panel needs two k."""
    panels = _panels(cells)
    if all(len({c.k for c in group}) < 2 for group in panels.values()):
        ks = sorted({c.k for c in cells})
        return f"needs at least two k in a panel (features and learner); the cells have k = {ks}"
    return None


def _with_mstar(cells, criterion) -> str | None:
    if not any(c.mstar.get(criterion, {}).get("status") in ("found", "below_min") for c in cells):
        return f"no cell has an m* for criterion {criterion} yet"
    return None


def plan_figures(cells, criterion="theorem", elbow=None, explanations=None) -> tuple[dict, dict]:
    """({kind: (draw, alt text)}, {kind: why skipped}): the figure kinds the data fit."""
    kinds, skipped = {}, {}
    described = ", ".join(sorted({f"{c.features} features" for c in cells}))

    def consider(kind, why_not, draw, alt):
        if why_not:
            skipped[kind] = why_not
        else:
            kinds[kind] = (draw, alt)

    if cells:
        ks = sorted({c.k for c in cells})
        consider("mstar_vs_k", _several_k(cells) or _with_mstar(cells, criterion),
                 lambda: plot_mstar_vs_k(cells, criterion, explanations),
                 f"Measured m* ({criterion}) with intervals against k = {ks[0]}..{ks[-1]} ({described}), "
                 "beside Abbeel & Ng's bound (bold) and the other bounds (grey), log-log.")
        consider("failure_rates", None, lambda: plot_failure_curves(cells, criterion, explanations=explanations),
                 f"Failure rate ({criterion}) against m for each of {len(cells)} cells with Clopper-Pearson "
                 "bands, delta and m_AN marked, and how the learner's rows ended.")
        consider("looseness", _several_k(cells) or _with_mstar(cells, criterion),
                 lambda: plot_looseness(cells, criterion),
                 f"Each bound divided by the measured m* ({criterion}) against k, log-log.")
        consider("seed_table", None, lambda: plot_seed_table(cells, criterion),
                 "The seed table as a figure: m_AN, measured m* [interval] and their ratio per cell.")
        if len({c.method for c in cells}) > 1:  # considered only where the cells hold several learners
            consider("learners", None if learner_groups(cells) else
                     "no two cells differ only in the learner",
                     lambda: plot_learners(cells, criterion),
                     f"Failure rate ({criterion}) against m of the learners run on the same setting, "
                     "overlaid, with intervals and each learner's measured m* (dashed).")
        measured = [c for c in cells if np.isfinite(c.performance).any()]
        consider("performance", None if measured else "the database predates stored performance",
                 lambda: plot_performance(measured),
                 "Value of the learned policy relative to the expert's against m, per cell.")
    if explanations:
        consider("ladder", None, lambda: plot_ladder(explanations),
                 "The bound's relaxations undone one at a time, from m_AN to the predicted m*, per cell.")
    if elbow is not None and elbow[0]:
        consider("elbow_curves", None, lambda: plot_elbow_curves(*elbow),
                 "Held-out accuracy of full-rank Bradley-Terry fits against the number of comparisons, "
                 "per k, with each elbow and the Bayes accuracy.")
        found = [e for e in _full_rank(elbow[1]) if e["n_elbow"] is not None]
        consider("elbow_scaling", None if found else "no elbow was found",
                 lambda: plot_elbow_scaling(elbow[1]),
                 "The elbow N against k, log-log, with fitted scalings and the text's claim (k = 10, N = 150).")
    return kinds, skipped


def write_plots(cells, out_dir, fmt="png", criterion="theorem", elbow=None,
                field="out", explanations=None) -> Figures:
    """Save every figure kind the data fit (:func:`plan_figures`): (a)-(d), the performance
    curve, given explanations (mcirl.explain) the ladder and, given elbow = (curves, elbows),
    the elbow figures, as out_dir/<kind>.<fmt>, atomically (``field`` names out_dir in
    errors). PNG at 200 dpi; PDF and SVG are vector files with their fonts embedded."""
    out_dir = output_dir(out_dir, field)
    kinds, skipped = plan_figures(cells, criterion, elbow, explanations)
    paths, alts = [], {}
    for name, (draw, alt) in kinds.items():
        fig = draw()
        path = out_dir / f"{name}.{fmt}"
        with house_style(), atomic_path(path, field) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, metadata=_metadata(fmt, alt))
        paths.append(path)
        alts[path] = alt
    return Figures(paths=paths, alt=alts, skipped=skipped)


def _metadata(fmt: str, alt: str) -> dict:
    """The figure's description in the file itself, where the format has a field for it."""
    if fmt == "png":
        return {"Description": alt}
    if fmt == "pdf":
        return {"Subject": alt}
    return {"Description": alt}
