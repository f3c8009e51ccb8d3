"""The m* the README and docs/results.md publish are the ones stored in results/.

The full-size seed-table tables are typed by hand from `mcirl results show`; this reads them
back and compares each cell's pooled m* and interval, per criterion, with the stored full-size
run (4 x 250 = 1000 replicates pooled), so a rerun or a merge that changes a number cannot
leave the prose behind.
"""

import re
from pathlib import Path

import pytest

from mcirl.results import frames, mstar_text

ROOT = Path(__file__).resolve().parents[1]
CELL = re.compile(r"^\| k = (\d+), gamma = ([\d.]+) \|")


def stored(features: str) -> dict:
    """{(k, gamma, criterion): 'm* [m_lo, m_hi]'} of the pooled full-size rows of a store."""
    db = ROOT / "results" / f"seed-table-{features}.sqlite"
    rows = frames(db)["mstar"]
    rows = rows[(rows.instance == -1) & (rows.reps == 1000) & (rows.features == features)]
    out = {}
    for row in rows.to_dict("records"):
        row["m_hi"] = None if row["m_hi"] != row["m_hi"] else int(row["m_hi"])
        key = (int(row["k"]), float(row["gamma"]), row["criterion"])
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
            if CELL.match(line):
                rows.append([c.strip() for c in line.strip("|").split("|")])
        elif seen:
            break
    assert rows, f"no table after {marker!r} in {path.name}"
    return rows


def cell_key(text: str) -> tuple[int, float]:
    k, gamma = re.fullmatch(r"k = (\d+), gamma = ([\d.]+)", text).groups()
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
