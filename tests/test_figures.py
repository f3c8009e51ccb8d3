"""Every figure kind, rendered on small stored results, checked for what a reviewer would see:
log axes labelled 10^n, legends clear of the data, kinds skipped when the data do not fit,
vector files with embedded fonts, alt text, and no global matplotlib state changed."""

import json
from dataclasses import replace
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.ticker import LogFormatterSciNotation

from mcirl.cli import main
from mcirl.plots import plan_figures, write_plots
from mcirl.results import collect, collect_elbows
from mcirl.store import Store
from tests.sweep.configs import tiny_sweep


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A two-k sweep, a one-k sweep and an elbow run, in one database each way."""
    root = tmp_path_factory.mktemp("figures")
    config = root / "tiny.toml"
    config.write_text(tiny_sweep(k=(2, 4)))
    db = root / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    assert main(["elbow", "--k", "2", "3", "--d", "3", "--reps", "2", "--n-max", "16", "--test-pairs", "50",
                 "--bootstrap", "5", "--db", str(db), "--quiet"]) == 0
    single = root / "single.toml"
    single.write_text(tiny_sweep(name="one-k", k=(2,)))
    one = root / "one.sqlite"
    assert main(["sweep", str(single), "--db", str(one), "--quiet"]) == 0
    return db, one


def _figures(db, explain=True):
    from mcirl.explain import ExplainConfig, explain_cells

    with Store(db, readonly=True) as store:
        cells = collect(store)
        elbow = collect_elbows(store)
        explanations = explain_cells(cells, ExplainConfig(draws=500)) if explain else None
    kinds, skipped = plan_figures(cells, "theorem", elbow, explanations)
    return {name: draw() for name, (draw, _) in kinds.items()}, skipped


def _points(ax):
    """Every drawn data point of an axes, in display coordinates."""
    points = []
    for line in ax.get_lines():
        x, y = (np.asarray(v, float) for v in line.get_data())
        if line.get_marker() in (None, "None", "", " ") or x.size == 0 or not line.get_visible():
            continue
        xy = np.column_stack([x, y])
        points.append(line.get_transform().transform(xy[np.isfinite(xy).all(axis=1)]))
    return np.concatenate(points) if points else np.empty((0, 2))


def test_every_kind_renders_with_10n_log_axes_and_legends_clear_of_the_data(stored):
    figures, skipped = _figures(stored[0])
    assert set(figures) == {"mstar_vs_k", "failure_rates", "looseness", "seed_table", "performance",
                            "ladder", "elbow_curves", "elbow_scaling"} and not skipped
    for name, fig in figures.items():
        FigureCanvasAgg(fig)
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        legends = [a.get_legend() for a in fig.axes if a.get_legend()] + list(fig.legends)
        for ax in fig.axes:
            for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
                if scale == "log" and ax.get_visible():
                    assert isinstance(axis.get_major_formatter(), LogFormatterSciNotation), (name, ax.get_title())
            points = _points(ax)
            for legend in legends:
                box = legend.get_window_extent(renderer)
                inside = ((points[:, 0] > box.x0) & (points[:, 0] < box.x1)
                          & (points[:, 1] > box.y0) & (points[:, 1] < box.y1))
                assert not inside.any(), f"{name}: the legend covers {inside.sum()} data points"
            assert ax.get_title() != "rank-d fits", name


def test_a_legend_over_the_data_is_caught():
    """The bounding-box check above, shown to fail on a planted overlap."""
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], marker="o", label="data")
    ax.legend(loc="center")
    FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    box = ax.get_legend().get_window_extent(fig.canvas.get_renderer())
    points = _points(ax)
    assert ((points[:, 0] > box.x0) & (points[:, 0] < box.x1) & (points[:, 1] > box.y0)
            & (points[:, 1] < box.y1)).any()


def test_panels_of_one_figure_share_their_x_range(stored):
    figures, _ = _figures(stored[0], explain=False)
    ranges = {ax.get_xlim() for ax in figures["failure_rates"].axes}
    assert len(ranges) == 1
    ranges = {ax.get_xlim() for ax in figures["elbow_curves"].axes if ax.get_visible()}
    assert len(ranges) == 1
    # panels of different feature families and k sets still share one k axis
    from mcirl.plots import plot_looseness, plot_mstar_vs_k

    with Store(stored[0], readonly=True) as store:
        cells = collect(store)
    dense = [replace(c, features="dense", cell_id=c.cell_id + "d", k=c.k * 8) for c in cells]
    for draw in (plot_mstar_vs_k, plot_looseness):
        axes = [ax for ax in draw(cells + dense).axes if ax.get_visible()]
        assert len(axes) == 2 and axes[0].get_xlim() == axes[1].get_xlim()


def test_kinds_that_do_not_fit_the_data_are_skipped_and_said(stored, capsys, tmp_path):
    figures, skipped = _figures(stored[1], explain=False)
    assert set(skipped) == {"mstar_vs_k", "looseness"} and "at least two k" in skipped["mstar_vs_k"]
    assert "mstar_vs_k" not in figures and "failure_rates" in figures
    assert main(["plot", "--db", str(stored[1]), "--out", str(tmp_path), "--no-ladder", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["skipped"]) == {"mstar_vs_k", "looseness"}
    assert not (tmp_path / "mstar_vs_k.png").exists()
    report = tmp_path / "report.md"
    assert main(["report", "--db", str(stored[1]), "-o", str(report), "--no-ladder"]) == 0
    assert "Not drawn: mstar_vs_k (needs at least two k" in report.read_text()


def test_vector_files_embed_their_fonts_and_png_is_200_dpi(stored, tmp_path):
    from PIL import Image

    with Store(stored[0], readonly=True) as store:
        cells = collect(store)
    written = {fmt: write_plots(cells, tmp_path / fmt, fmt) for fmt in ("pdf", "svg", "png")}
    for path in written["pdf"]:
        data = path.read_bytes()
        assert b"/FontFile2" in data and b"/Subtype /Type3" not in data  # TrueType, embedded
    for path in written["svg"]:
        assert "<text" not in path.read_text()  # glyphs as paths: no font needed to view it
    for path in written["png"]:
        with Image.open(path) as image:
            assert image.info["dpi"] == pytest.approx((200, 200), abs=0.1)
            assert image.info["Description"] == written["png"].alt[path]


def test_the_report_gives_every_figure_its_alt_text(stored, tmp_path):
    report = tmp_path / "report.md"
    assert main(["report", "--db", str(stored[0]), "-o", str(report), "--no-ladder"]) == 0
    text = report.read_text()
    assert "![Measured m* (theorem) with intervals against k = 2..4" in text
    assert "alt='Failure rate (theorem) against m" in report.with_suffix(".html").read_text()


def test_importing_and_plotting_leaves_the_backend_alone(stored, tmp_path):
    """No matplotlib.use at import: a notebook's backend is the user's (issue 33)."""
    code = f"""
import matplotlib
matplotlib.use("svg")
import mcirl.plots, mcirl.cli
from mcirl.cli import main
assert main(["plot", "--db", {str(stored[0])!r}, "--out", {str(tmp_path)!r}, "--no-ladder"]) == 0
print(matplotlib.get_backend())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "svg"
    assert Path(tmp_path / "mstar_vs_k.png").stat().st_size > 1000


def test_the_house_style_is_shipped_and_left_as_a_context():
    import matplotlib

    from mcirl.plots import STYLE_FILE, house_style

    before = matplotlib.rcParams["font.size"], matplotlib.rcParams["pdf.fonttype"]
    with house_style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42 and matplotlib.rcParams["savefig.dpi"] == 200
    assert (matplotlib.rcParams["font.size"], matplotlib.rcParams["pdf.fonttype"]) == before
    assert STYLE_FILE.exists()
