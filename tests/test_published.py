"""The m* the README and docs/results.md publish are the ones stored in results/.

The full-size seed-table tables are typed by hand from `mcirl results show`; this reads them
back and compares each cell's pooled m* and interval, per criterion, with the stored full-size
run (4 x 250 = 1000 replicates pooled), so a rerun or a merge that changes a number cannot
leave the prose behind.
"""

import re
from pathlib import Path

import pytest

from mcirl.results import mstar_summary
from mcirl.results import mstar_text
from mcirl.store import Store

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"k = (\d+), gamma = ([\d.]+)")


def stored(features: str) -> dict:
    """{(k, gamma, criterion): 'm* [m_lo, m_hi]'} of the pooled full-size rows of a store, as
    `mcirl results show` reads them."""
    db = ROOT / "results" / f"seed-table-{features}.sqlite"
    out = {}
    with Store(db, readonly=True) as store:
        for run in store.runs():
            for row in mstar_summary(store, run["run_id"]):
                if row["instance"] == -1 and row["reps"] == 1000 and row["features"] == features:
                    key = (row["k"], row["gamma"], row["criterion"])
                    assert key not in out, f"two full-size runs of {key} in {db.name}"
                    out[key] = mstar_text(row)
    return out


def table_after(path: Path, marker: str) -> list[list[str]]:
    """The cells of the rows of the first table after the line holding ``marker``."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    rows, seen = [], False
    for line in lines[start:]:
        if line.startswith("|"):
            seen = True
            if CELL.fullmatch(line.split("|")[1].strip()):
                rows.append([c.strip() for c in line.strip("|").split("|")])
        elif seen:
            break
    assert rows, f"no table after {marker!r} in {path.name}"
    return rows


def cell_key(text: str) -> tuple[int, float]:
    k, gamma = CELL.fullmatch(text).groups()
    return int(k), float(gamma)


@pytest.mark.parametrize("features, marker", [
    ("onehot", "**The one-hot seed table with certified learners"),
    ("dense", "**Dense features at full size"),
])
def test_the_results_tables_are_the_stored_full_size_runs(features, marker):
    truth = stored(features)
    for row in table_after(ROOT / "docs" / "results.md", marker):
        k, gamma = cell_key(row[0])
        for criterion, shown in zip(("theorem", "l2", "regret"), row[2:5]):
            assert shown == truth[k, gamma, criterion], (features, k, gamma, criterion)


def test_the_readme_headline_is_the_stored_one_hot_table():
    truth = stored("onehot")
    rows = table_after(ROOT / "README.md", "## What it finds")
    assert {cell_key(r[0]) for r in rows} == {(10, 0.9), (10, 0.99), (1000, 0.9), (1000, 0.99)}
    for row in rows:
        assert row[1] == "4 × 250" and row[3] == truth[(*cell_key(row[0]), "theorem")], row


def test_the_decided_runs_publish_their_stored_mstar():
    """docs/results.md's "Deciding rather than simulating" table states, for each run it shows,
    every criterion's pooled m* [m_lo, m_hi] as results/decided.sqlite holds it."""
    lines = (ROOT / "docs" / "results.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("## Deciding rather than simulating"))
    table = "\n".join(line for line in lines[start:start + 20] if line.startswith("| "))
    with Store(ROOT / "results" / "decided.sqlite", readonly=True) as store:
        runs = {r["run_id"][:12]: r["run_id"] for r in store.runs()}
        for short in ("a16c6c6e849d", "47502e35001e", "1958fcfe2e6a"):
            for row in mstar_summary(store, runs[short]):
                if row["instance"] == -1:
                    text = mstar_text(row)
                    assert f"{row['criterion']} {text}" in table, (short, row["criterion"], text)
