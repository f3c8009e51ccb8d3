"""Figures and report from a small results database: what is drawn and written, and that the
report's numbers are the database's."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from mcirl import bounds
from mcirl.cli import main
from mcirl.plots import (applicable_bounds, plot_failure_curves, plot_looseness, plot_mstar_vs_k,
                         plot_performance, plot_seed_table)
from mcirl.output import count_text
from mcirl.results import collect
from mcirl.stats import slope
from mcirl.sweep.config import load_config
from mcirl.sweep.execute import InProcessExecutor
from mcirl.sweep.runner import drive_sweep
from mcirl.store import Store

TINY = Path(__file__).parents[1] / "examples" / "tiny.toml"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("plots") / "small.sqlite"
    with Store(path) as store:
        drive_sweep(load_config(TINY), store, InProcessExecutor())
    return path


@pytest.fixture(scope="module")
def cells(db):
    with Store(db) as store:
        return collect(store)


def gids(ax, prefix):
    return [a.get_gid() for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def seed_table_text(fig):
    """Every cell's text of the seed-table figure, joined."""
    (table,) = [a for a in fig.axes[0].get_children() if a.get_gid() == "seed_table"]
    return " ".join(cell.get_text().get_text() for cell in table.get_celld().values())


def block_after(out, title):
    """The (kind, payload) block that follows the heading ``title`` in report blocks."""
    return out[[b[1] for b in out].index(title) + 1]


def test_collect_pools_the_store(db, cells):
    assert [c.k for c in cells] == [2, 4]
    with Store(db) as store:
        rows = store.table("estimates", store.resolve_run(None))
    for c in cells:
        for i, m in enumerate(c.m):
            mine = [r for r in rows if r["cell_id"] == c.cell_id and r["m"] == m]
            assert c.reps[i] == sum(r["reps"] for r in mine) <= 80  # sequential replication may stop a point early
            assert c.failures["theorem"][i] == sum(r["failures_theorem"] for r in mine)
        assert np.isfinite(c.variance) and 0 <= c.variance <= 0.25
        assert (c.performance[np.isfinite(c.performance)] <= 1 + 1e-9).all()
        np.testing.assert_array_equal(np.isnan(c.performance), c.outcomes["assured"] == c.reps)


def test_mstar_vs_k(cells):
    fig = plot_mstar_vs_k(cells)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "features k" and ax.get_ylabel() == "expert trajectories m"
    assert ax.get_xscale() == ax.get_yscale() == "log"
    names = {g.split(":")[1] for g in gids(ax, "bound:")}
    assert names == set(applicable_bounds("onehot")) | {"bernstein"}
    assert len(gids(ax, "bound:")) == len(names)  # one gamma: one line per bound
    bars = [c for c in ax.containers if c.get_label().startswith("measured m*")]
    assert len(bars) == 1 and len(bars[0].lines[0].get_xdata()) == 2  # two cells, error bars
    assert bars[0].has_yerr
    found = [c for c in cells if c.mstar["theorem"]["status"] != "above_cap"]
    expected = slope([c.k for c in found], [c.mstar["theorem"]["m_star"] for c in found])
    assert f"slope {expected:.2f} [" in bars[0].get_label()
    # the bound lines are the bound formulas; Abbeel & Ng's stands out, the others are grey
    line = next(x for x in ax.lines if x.get_gid() == "bound:abbeel-ng:0.8")
    np.testing.assert_allclose(line.get_ydata(), bounds.abbeel_ng_trajectories(line.get_xdata(), 0.8, 0.5, 0.1))
    others = [x for x in ax.lines if (x.get_gid() or "").startswith("bound:") and x is not line]
    assert all(x.get_linewidth() < line.get_linewidth() and x.get_color() == "0.6" for x in others)
    assert bars[0].lines[0].get_color() == line.get_color()  # one colour per gamma


def test_slope_interval_is_the_range_of_lines_through_the_intervals():
    from mcirl.stats import slope_interval

    low, high = slope_interval([10, 1000], [100, 1000], [200, 4000])
    # the flattest line joins (10, 200) to (1000, 1000), the steepest (10, 100) to (1000, 4000)
    assert low == pytest.approx(np.log(1000 / 200) / np.log(100))
    assert high == pytest.approx(np.log(4000 / 100) / np.log(100))
    assert np.isnan(slope_interval([10, 10], [1, 1], [2, 2])).all()


def test_failure_curves(cells):
    fig = plot_failure_curves(cells, "l2")
    axes = [ax for ax in fig.axes if gids(ax, "delta")]
    strips = [ax for ax in fig.axes if gids(ax, "terminated")]
    assert len(axes) == len(strips) == 2
    for ax, strip, c in zip(axes, strips, cells):
        assert strip.get_xlabel() == "expert trajectories m" and "failure rate" in axes[0].get_ylabel()
        assert gids(ax, "m_AN") and gids(ax, "band")
        (rate,) = [x for x in ax.lines if x.get_label() == "failure rate"]
        np.testing.assert_allclose(rate.get_ydata(), c.failures["l2"] / c.reps)
        # the strip under the curve: the shares of rows terminated, certified, undecided
        shares = {g: strip.collections[i] for i, g in enumerate(("assured", "terminated", "certified",
                                                                 "undecided"))}
        top = shares["undecided"].get_paths()[0].vertices[:, 1].max()
        assert top == pytest.approx(1.0)
        certified = shares["certified"].get_paths()[0].vertices[:, 1].max()
        expected = ((c.outcomes["assured"] + c.outcomes["terminated"] + c.outcomes["certified"])
                    / c.reps).max()
        assert certified == pytest.approx(expected)
        # every panel shares one m axis, wide enough to hold m_AN inside it
        assert ax.get_xlim() == axes[0].get_xlim() and ax.get_xlim()[1] > c.bound
        # the measured m* and its interval (issue 51, item 4)
        row = c.mstar["l2"]
        if row["status"] == "found":
            (mstar,) = [x for x in ax.lines if x.get_gid() == "mstar"]
            assert list(mstar.get_xdata()) == [row["m_star"]] * 2
            if row["m_hi"] is not None:
                (span,) = [a for a in ax.get_children() if a.get_gid() == "mstar_interval"]
                xs = span.get_patch_transform().transform(span.get_path().vertices)[:, 0]
                assert (min(xs), max(xs)) == (row["m_lo"], row["m_hi"])
        else:
            assert not [x for x in ax.lines if x.get_gid() == "mstar"]
    assert any(x.get_gid() == "mstar" for ax in axes for x in ax.lines)


def test_looseness_seed_table_and_performance(cells):

    (ax,) = plot_looseness(cells).axes
    assert ax.get_ylabel() == "bound / empirical m*"
    assert len(gids(ax, "looseness:")) == len(applicable_bounds("onehot"))
    text = seed_table_text(plot_seed_table(cells))
    for c in cells:
        assert f"m_AN {count_text(c.bound)}" in text and f"k = {c.k}" in text
    (ax,) = plot_performance(cells).axes
    assert len(gids(ax, "performance:")) == 2


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_plot_command_writes_every_figure(capsys, db, tmp_path, fmt):
    assert main(["plot", "--db", str(db), "--out", str(tmp_path), "--format", fmt, "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["figures"]
    names = {Path(f).stem for f in files}
    assert names == {"mstar_vs_k", "failure_rates", "looseness", "seed_table", "performance",
                     "ladder"}
    for f in files:
        assert Path(f).stat().st_size > 1000 and Path(f).suffix == f".{fmt}"
    if fmt == "svg":
        assert "features k" in (tmp_path / "mstar_vs_k.svg").read_text()


def test_the_ladder_figure_and_report_tables_are_explains(capsys, db, tmp_path):
    """The report's 'Why the bound is loose' rows and the ladder figure come from mcirl explain
    on the stored instances (the same numbers as `explain --db`); --no-ladder leaves them out."""
    from mcirl.explain import ExplainConfig, explain_stored
    from mcirl.ladder import PREDICTED
    from mcirl.plots import plot_ladder

    with Store(db) as store:
        explained = [explain_stored(c, ExplainConfig()) for c in collect(store)]
    out = tmp_path / "report.md"
    assert main(["report", "--db", str(db), "-o", str(out)]) == 0
    rows = parse_table(out.read_text(), "| cell | instances | Abbeel-Ng bound |")
    assert [r[0] for r in rows] == [e.label for e in explained]
    for row, e in zip(rows, explained):
        assert row[2] == count_text(e.ladder[0]["m"])
        assert row[-1] == f"{count_text(e.ladder[-1]['m'])} ({e.ladder[-1]['factor']:.3g}x)"
    predictions = parse_table(out.read_text(), "| cell | criterion | predicted m*")
    assert len(predictions) == 3 * len(explained)
    assert {r[3] for r in predictions} == {"cone, 1,000 draws"}  # k <= 20: the default models it
    # the report's termination options are explain's: the same model, draws and predictions
    with Store(db) as store:
        exact = [explain_stored(c, ExplainConfig(termination="exact", termination_draws=5))
                 for c in collect(store)]
    assert main(["report", "--db", str(db), "-o", str(out), "--termination", "exact",
                 "--termination-draws", "5"]) == 0
    rows = parse_table(out.read_text(), "| cell | criterion | predicted m*")
    assert {r[3] for r in rows} == {"exact, 5 draws"}
    assert [r[2].split(" [")[0] for r in rows] == [
        count_text(e.predicted[c]["m"]) for e in exact for c in PREDICTED]
    fig = plot_ladder(explained)
    assert len(gids(fig.axes[0], "ladder:")) == len(explained)
    assert len(gids(fig.axes[1], "factor:")) == 4  # four steps, one feature family, one gamma
    assert main(["report", "--db", str(db), "-o", str(out), "--no-ladder"]) == 0
    assert "Why the bound is loose" not in out.read_text()
    capsys.readouterr()


def parse_table(markdown, header_start):
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_report_numbers_are_the_databases(capsys, db, tmp_path):
    out = tmp_path / "r" / "report.md"
    assert main(["report", "--db", str(db), "-o", str(out)]) == 0
    text = out.read_text()
    html = out.with_suffix(".html").read_text()
    assert "data:image/png;base64," in html and "Seed table" in html
    with Store(db) as store:
        run_id = store.resolve_run(None)
        cells = {c["k"]: c for c in store.table("cells", run_id)}
        pooled = {(r["cell_id"], r["criterion"]): r for r in store.table("mstar", run_id) if r["instance"] == -1}
        estimates = store.table("estimates", run_id)
    rows = parse_table(text, "| features | algorithm | k |")
    assert len(rows) == 2
    for row in rows:
        c = cells[int(row[2])]
        star = pooled[(c["cell_id"], "theorem")]
        assert row[5] == count_text(c['bound'])
        assert row[6].startswith(f"{star['m_star']:,}") or row[6].startswith(f"<= {star['m_star']:,}")
        at = [e for e in estimates if e["cell_id"] == c["cell_id"] and e["m"] == math.ceil(c["bound"])]
        fails, reps = sum(e["failures_theorem"] for e in at), sum(e["reps"] for e in at)
        assert row[9].startswith(f"{fails}/{reps} = ")
        assert row[7] == "same" or row[7].startswith("! ")  # m* with undecided rows succeeding
        total = sum(e["reps"] for e in estimates if e["cell_id"] == c["cell_id"])
        assert sum(int(n.replace(",", "")) for n in row[10].split(" / ")) == total
    assert "tiny" in text and "Figures" in text
    assert re.search(r"k=4 / k=2 \| .* \| 2\.3\dx", text)  # the bound's ratio m_AN(4)/m_AN(2)
    assert "geometric" not in text  # no lengths comparison without geometric cells


def test_plot_and_report_errors(capsys, tmp_path):
    assert main(["plot", "--db", str(tmp_path / "none.sqlite")]) == 2
    empty = tmp_path / "empty.sqlite"
    Store(empty).close()
    assert main(["report", "--db", str(empty)]) == 2
    assert "holds no" in capsys.readouterr().err


def test_report_of_a_single_k_says_why_it_has_no_growth_table(cells):
    from mcirl.report import blocks

    growth = "Growth from the smallest to the largest k of the seed table"
    for subset, has_table in ((cells, True), ([c for c in cells if c.k == 2], False)):
        out = blocks(subset, [], "theorem", [])
        kind, payload = block_after(out, growth)
        assert (kind == "table" and len(payload[1]) > 0) if has_table else (
            kind == "p" and "two or more values of k" in payload)


def test_gamma_growth_compares_cells_that_differ_only_in_gamma(cells):
    from dataclasses import replace

    from mcirl.report import blocks, growth_rows

    def at(c, gamma, **changes):
        mstar = {"theorem": {**c.mstar["theorem"], "m_star": 2 * c.mstar["theorem"]["m_star"]}}
        return replace(c, gamma=gamma, mstar=mstar, cell_id=f"{c.cell_id}-{gamma}",
                       bound=float(bounds.abbeel_ng_trajectories(c.k, gamma, c.eps, c.delta)),
                       **changes)

    k2, k4 = cells
    assert all(c.mstar["theorem"]["status"] == "found" for c in cells)
    more = [at(k2, 0.9), at(k4, 0.9, S=k4.S + 1)]  # the k = 4 copy differs in S too
    rows = growth_rows(cells + more, "theorem", "gamma")
    assert rows == [["onehot", "projection", "2", "gamma=0.9 / gamma=0.8", "2x", "4x"]]
    assert growth_rows(cells, "theorem", "gamma") == []
    out = blocks(cells + more, [], "theorem", [])
    kind, payload = block_after(out, "Growth from the smallest to the largest gamma over every run")
    assert kind == "table" and payload[1] == rows


def test_growth_across_runs_and_bounded_ratios(cells):
    """k growth over every run appears when other runs add k values; a below_min m* (only an
    upper bound) makes the ratio a bound."""
    from dataclasses import replace

    from mcirl.report import blocks, growth_rows

    k2, k4 = cells
    k8 = replace(k4, k=8, cell_id="k8", run_ids=("another-run",),
                 bound=float(bounds.abbeel_ng_trajectories(8, k4.gamma, k4.eps, k4.delta)))
    runs = [{"run_id": k2.run_ids[0], "name": "tiny", "config": {"seed": 0, "instances":
             {"count": 1, "reps": 1}}, "package_version": "x", "git_sha": None, "host": "h",
             "device": "cpu", "seconds": 1.0, "status": "done"}]
    titles = [b[1] for b in blocks(cells + [k8], runs, "theorem", [])]
    across = "Growth from the smallest to the largest k over every run"
    assert across in titles and across not in [b[1] for b in blocks(cells, runs, "theorem", [])]
    (row,) = growth_rows(cells + [k8], "theorem", "k")
    assert row[3] == "k=8 / k=2"

    def status(c, s):
        return replace(c, mstar={"theorem": {**c.mstar["theorem"], "status": s}})

    ratio = k4.mstar["theorem"]["m_star"] / k2.mstar["theorem"]["m_star"]
    for lo, hi, text in (("found", "found", f"{ratio:.3g}x"),
                         ("found", "below_min", f"<= {ratio:.3g}x"),
                         ("below_min", "found", f">= {ratio:.3g}x"),
                         ("below_min", "below_min", "-"), ("found", "above_cap", "-")):
        (row,) = growth_rows([status(k2, lo), status(k4, hi)], "theorem", "k")
        assert row[4] == text, (lo, hi)


def test_the_seed_table_gathers_design_cells_from_every_run(cells):
    """the seed table's cells (docs/method.md) fill the seed table whichever run measured them; a cell two runs
    measured appears once, from the run with more replicates; other cells are left to "Every
    cell"."""
    from dataclasses import replace

    from mcirl.report import blocks, seed_cells

    k2, k4 = cells

    def design(k, gamma, run, reps=1):
        return replace(k4, k=k, gamma=gamma, eps=0.1, delta=0.05, cell_id=f"{k}-{gamma}-{run}-{reps}",
                       run_ids=(run,), reps=k4.reps * reps,
                       bound=float(bounds.abbeel_ng_trajectories(k, gamma, 0.1, 0.05)))

    runs = [{"run_id": k2.run_ids[0]}]  # the oldest run holds no seed-table cell
    four = [design(10, 0.9, "a"), design(1000, 0.9, "b", reps=2), design(10, 0.99, "c"),
            design(1000, 0.99, "d")]
    fewer = design(1000, 0.9, "sweep")  # the same cell, fewer replicates, in another run
    everything = cells + [fewer] + four
    assert seed_cells(everything, runs) == four
    assert seed_cells(cells + four + [fewer], runs) == four  # not the first or last seen
    assert seed_cells(cells, runs) == cells  # no seed-table cell: the first run's smallest, largest k
    out = blocks(everything, [], "theorem", [])
    seed_rows = block_after(out, "Seed table")[1][1]
    every_rows = block_after(out, "Every cell")[1][1]
    assert [(r[2], r[3]) for r in seed_rows] == [("10", "0.9"), ("1000", "0.9"), ("10", "0.99"),
                                                 ("1000", "0.99")]
    assert len(every_rows) == len(everything)
    growth = block_after(out, "Growth from the smallest to the largest k of the seed table")
    assert [r[2] for r in growth[1][1]] == ["0.9", "0.99"]


def test_the_seed_table_figure_shows_the_more_replicated_of_two_runs(cells):
    from dataclasses import replace

    k2, k4 = cells

    def copy(m_star, reps):
        return replace(k4, cell_id=f"k4-{reps}", reps=k4.reps * reps,
                       mstar={"theorem": {**k4.mstar["theorem"], "status": "found", "m_star": m_star,
                                                    "cap": 10**7}})

    more, fewer = copy(777_001, 3), copy(555_001, 1)
    for order in ([k2, more, fewer], [k2, fewer, more]):
        text = seed_table_text(plot_seed_table(order))
        assert "m* 777,001" in text and "555,001" not in text


def test_a_sweep_without_any_m_star_yet_plots_and_reports_without_warnings(
        capsys, db, tmp_path, recwarn):
    """An interrupted sweep (no search finished) or one whose every m* is above the cap: the
    looseness panel says so instead of drawing an empty legend (a matplotlib warning on stderr)."""
    import shutil
    import sqlite3

    unfinished = tmp_path / "unfinished.sqlite"
    shutil.copy(db, unfinished)
    with sqlite3.connect(unfinished) as con:
        con.execute("DELETE FROM mstar")
    con.close()
    with Store(unfinished) as store:
        cells = collect(store)
    (ax,) = plot_looseness(cells).axes
    assert ax.get_legend() is None and gids(ax, "looseness-empty")
    assert main(["plot", "--db", str(unfinished), "--out", str(tmp_path / "figs")]) == 0
    assert main(["report", "--db", str(unfinished), "-o", str(tmp_path / "r" / "report.md")]) == 0
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], [str(w) for w in recwarn]
    assert "not measured" in (tmp_path / "r" / "report.md").read_text()


def test_the_report_states_what_mwal_and_lpal_runs_guarantee(cells):
    """MWAL's T and its Freund-Schapire accuracy 4 (sqrt(2 ln k / T) + ln k / T) / (1 - gamma),
    from the run's cap; LPAL exact; projection cells get no row."""
    from dataclasses import replace

    from mcirl.learn.mwal import guarantee
    from mcirl.report import guarantee_rows

    c = cells[0]
    runs = [{"run_id": c.run_id, "config": {"search": {"max_iter": 50}}}]
    mwal = replace(c, algorithm="mwal", max_gap=0.4)
    lpal = replace(c, algorithm="lpal")
    rows = guarantee_rows([c, mwal, lpal], runs)
    assert len(rows) == 2
    expected = 4 * (math.sqrt(2 * math.log(c.k) / 50) + math.log(c.k) / 50) / (1 - c.gamma)
    assert guarantee(c.k, c.gamma, 50) == pytest.approx(expected)
    assert rows[0][5] == "50" and rows[0][6] == f"{expected:.3g}" and rows[0][8] == "0.4"
    assert rows[1][5] == "1 LP" and rows[1][6] == "exact"


def test_the_ladder_figure_draws_a_waterfall_for_few_cells_only():
    """Past LADDER_CELLS cells panel (a) keeps each family's smallest and largest k; panel (b)
    keeps every k."""
    from types import SimpleNamespace

    from mcirl.ladder import STEPS
    from mcirl.plots import LADDER_CELLS, plot_ladder

    def cell(features, k):
        steps = [{"step": s, "m": 10.0 ** (5 - i) * k, "factor": 10.0} for i, s in enumerate(STEPS)]
        return SimpleNamespace(features=features, k=k, gamma=0.9, label=f"{features} {k}",
                               ladder=steps, measured={})

    cells = [cell(f, k) for f in ("onehot", "dense") for k in (2, 5, 10, 20, 50, 100)]
    assert len(cells) > LADDER_CELLS
    fig = plot_ladder(cells)
    assert sorted(gids(fig.axes[0], "ladder:")) == sorted(
        f"ladder:{f} {k}" for f in ("onehot", "dense") for k in (2, 100))
    assert len(gids(fig.axes[1], "factor:")) == 8  # 4 steps x 2 families, every k on each


def test_a_sweep_over_eps_shows_every_eps_in_tables_and_figures(tmp_path, capsys):
    """Issue 51, item 2: cells differing only in eps each appear, named by their eps, in the
    m* table, the seed-table figure and the failure-rate panels (one of them was shown)."""
    from tests.sweep.configs import tiny_sweep

    from mcirl.plots import plot_failure_curves, plot_seed_table
    from mcirl.store import Store

    config = tmp_path / "eps.toml"
    config.write_text(tiny_sweep("eps-grid", (2,)).replace("eps = 0.5", "eps = [0.5, 0.8]"))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "eps" in table.splitlines()[2] and "0.5" in table and "0.8" in table
    with Store(db, readonly=True) as store:
        cells = collect(store)
    assert sorted(c.eps for c in cells) == [0.5, 0.8]
    texts = [t.get_text().get_text() for t in plot_seed_table(cells).axes[0].tables[0].get_celld().values()]
    assert any("eps = 0.5" in t for t in texts) and any("eps = 0.8" in t for t in texts)
    titles = [ax.get_title() for ax in plot_failure_curves(cells).axes if ax.get_title()]
    assert sorted(t.split("eps = ")[1].split(",")[0] for t in titles) == ["0.5", "0.8"]
    # the report compares them: m* and the bound from the smallest eps to the largest
    from mcirl.report import blocks

    kind, payload = block_after(blocks(cells, [], "theorem", []),
                                "Growth from the smallest to the largest eps over every run")
    (row,) = payload[1]
    lo, hi = sorted(cells, key=lambda c: c.eps)
    assert kind == "table" and row[2:4] == ["2, 0.8", "eps=0.8 / eps=0.5"]
    from mcirl.output import number_text

    assert row[5] == f"{number_text(hi.bound / lo.bound)}x"  # (0.5 / 0.8)^2 = 0.39


def test_the_learners_figure_overlays_cells_that_differ_only_in_the_learner(cells):
    """Issue 51, item 4: cells that differ only in the learner share a panel, one curve each;
    a setting run by one learner gets none, and a store of one learner offers no such figure."""
    from dataclasses import replace

    from mcirl.plots import learner_groups, plan_figures, plot_learners

    k2, k4 = cells
    mwal = replace(k2, algorithm="mwal", cell_id=f"{k2.cell_id}-mwal")
    groups = learner_groups([k2, k4, mwal])
    # k4 has one learner: no panel
    assert [[c.cell_id for c in g] for g in groups.values()] == [[mwal.cell_id, k2.cell_id]]
    fig = plot_learners([k2, k4, mwal])
    (ax,) = [a for a in fig.axes if a.get_visible()]
    curves = sorted(line.get_gid() for line in ax.lines if (line.get_gid() or "").startswith("learner:"))
    assert curves == ["learner:mwal", "learner:projection"]
    np.testing.assert_allclose(
        next(x for x in ax.lines if x.get_gid() == "learner:mwal").get_ydata(), k2.failures["theorem"] / k2.reps)
    assert "learners" in plan_figures([k2, k4, mwal])[0]
    kinds, skipped = plan_figures(cells)
    assert "learners" not in kinds and "learners" not in skipped
