"""The elbow on a user's own comparisons (mcirl.elbow.real): files the tool writes from its
synthetic model give back the model's elbow; malformed files are one-line errors."""

import json
from dataclasses import replace

import numpy as np
import pytest

from mcirl.cli import main
from mcirl.elbow.experiment import ElbowConfig, run_cell
from mcirl.elbow.fit import fit_logistic
from mcirl.elbow.real import fit_items, load_comparisons, split

SYNTHETIC = ["--k", "5", "--d", "10", "--noise", "1"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    path = folder / "comps.csv"
    assert main(["elbow", *SYNTHETIC, "--n-max", "4000", "--annotators", "20", "--write-comparisons", str(path),
                 "--json"]) == 0
    return path, folder / "comps-features.csv"


def _real(capsys, *argv):
    assert main(["elbow", "--reps", "10", "--bootstrap", "100", "--n-max", "3000", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_synthetic_elbow_is_recovered_from_the_written_files(written, capsys):
    capsys.readouterr()
    real = _real(capsys, "--comparisons", str(written[0]), "--item-features", str(written[1]))
    assert real["verdict"] == "elbow" and real["items"] == 2000 and real["features"] == 10
    config = ElbowConfig(k=(5,), d=10, noise=(1.0,), instances=1, ranks=(10,), n_max=3200, reps=10,
                         bootstrap=100, ridge=1.0)  # the real-data default ridge
    _, (synthetic,) = run_cell(config, 5, 1.0)
    low, high = real["elbow_interval"]
    assert low <= synthetic["n_elbow"] <= high, (synthetic["n_elbow"], real["elbow_interval"])
    # with the evidence ridge on both sides: the real curve is normalised by its estimated
    # plateau, the synthetic one by the Bayes accuracy, so the two agree to a doubling of N
    real = _real(capsys, "--comparisons", str(written[0]), "--item-features", str(written[1]),
                 "--ridge", "evidence")
    _, (synthetic,) = run_cell(replace(config, ridge="evidence"), 5, 1.0)
    assert real["verdict"] == "elbow"
    assert real["elbow_interval"][0] / 2 <= synthetic["n_elbow"] <= 2 * real["elbow_interval"][1]
    for interval, accuracy in zip(real["accuracy_interval"], real["accuracy"]):
        assert interval[0] <= accuracy <= interval[1]
    by_annotator = _real(capsys, "--comparisons", str(written[0]), "--item-features", str(written[1]),
                         "--split", "annotator")
    assert by_annotator["verdict"] == "elbow" and by_annotator["split"] == "annotator"


def test_coin_flips_have_no_elbow_and_too_few_comparisons_cannot_tell(written, tmp_path, capsys):
    import pandas as pd

    table = pd.read_csv(written[0])
    rng = np.random.default_rng(0)
    table["winner"] = np.where(rng.random(len(table)) < 0.5, table["item_i"], table["item_j"])
    flips = tmp_path / "flips.csv"
    table.to_csv(flips, index=False)
    capsys.readouterr()
    assert _real(capsys, "--comparisons", str(flips), "--item-features", str(written[1]))["verdict"] == "no elbow"
    # item-level Bradley-Terry on 2,000 items from 3,000 comparisons is still learning
    assert _real(capsys, "--comparisons", str(written[0]))["verdict"] == "cannot tell at this sample size"


def test_item_level_bradley_terry_is_the_one_hot_fit(rng):
    items = 5
    i = rng.integers(0, items, 300)
    j = (i + rng.integers(1, items, 300)) % items
    y = np.where(rng.random(300) < 0.6, 1.0, -1.0)
    dense = fit_logistic((np.eye(items)[i] - np.eye(items)[j])[None], y[None], 0.7)[0]
    np.testing.assert_allclose(fit_items(items, i, j, y, 0.7), dense, atol=1e-6)


@pytest.mark.parametrize("rows, features, argv, needle", [
    ("item_i,item_j\na,b\n", None, (), "lacks the column(s) winner"),
    ("item_i,item_j,winner\na,b,c\na,b,a\n", None, (), "winner: must be item_i or item_j (row 2)"),
    ("item_i,item_j,winner\na,a,a\na,b,a\n", None, (), "item_j: must differ from item_i (row 2"),
    ("item_i,item_j,winner\na,,a\na,b,a\n", None, (), "item_j: is empty in row 2"),
    ("item_i,item_j,winner\na,b,a\n", None, (), "needs at least 2 comparisons"),
    ("item_i,item_j,winner\na,b,a\nb,c,c\n", "item,x0\na,1\nb,2\n", (), "has no row for item 'c'"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", "item,x0\na,1\nb,zz\n", (), "column 'x0' is not numeric"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", "id,x0\na,1\nb,2\n", (), "needs a column 'item'"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", None, ("--split", "item"), "item needs --item-features"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", None, ("--split", "annotator"), "needs an 'annotator' column"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", None, ("--k", "3"), "--k: is an option of the synthetic model"),
    ("item_i,item_j,winner\na,b,a\nb,a,b\n", None, ("--test-fraction", "1.5"), "--test-fraction"),
    ("\x00\x01 not a table", None, (), "comparisons"),
])
def test_malformed_files_are_one_line_errors(tmp_path, capsys, rows, features, argv, needle):
    path = tmp_path / "c.csv"
    path.write_text(rows)
    extra = []
    if features is not None:
        (tmp_path / "f.csv").write_text(features)
        extra = ["--item-features", str(tmp_path / "f.csv")]
    assert main(["elbow", "--comparisons", str(path), *extra, *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mcirl: error: ") and needle in err, err


def test_a_missing_file_and_options_without_comparisons(tmp_path, capsys):
    assert main(["elbow", "--comparisons", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["elbow", "--split", "pair"]) == 2
    assert "goes with --comparisons" in capsys.readouterr().err


def test_the_split_holds_out_what_it_says(written):
    data = load_comparisons(*written)
    train, test = split(data, "item", 0.2, seed=3)
    seen = set(train.i) | set(train.j)
    held = (set(test.i) | set(test.j)) - seen
    assert held and len(train) + len(test) == len(data)
    train, test = split(data, "annotator", 0.3, seed=3)
    assert not set(train.annotator) & set(test.annotator)


def test_annotator_by_item_fits_find_a_second_taste(tmp_path, capsys):
    """Two groups of annotators rank 30 items by two unrelated qualities: one shared utility
    (rank 1) cannot predict both groups, a rank-2 annotator x item model can."""
    import pandas as pd

    rng = np.random.default_rng(4)
    quality = rng.normal(size=(30, 2)) * 2.0
    n = 4000
    annotator = rng.integers(0, 8, n)
    i = rng.integers(0, 30, n)
    j = (i + rng.integers(1, 30, n)) % 30
    taste = quality[:, 0], quality[:, 1]
    u = np.where(annotator % 2 == 0, taste[0][i] - taste[0][j], taste[1][i] - taste[1][j])
    first = rng.random(n) < 1 / (1 + np.exp(-u))
    table = pd.DataFrame({"item_i": i, "item_j": j, "winner": np.where(first, i, j), "annotator": annotator})
    path = tmp_path / "tastes.csv"
    table.to_csv(path, index=False)
    capsys.readouterr()
    assert main(["elbow", "--comparisons", str(path), "--ranks", "1", "2", "--reps", "2", "--bootstrap", "20",
                 "--n-max", "3000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    one, two = out["ranks"]["1"]["accuracy"][-1], out["ranks"]["2"]["accuracy"][-1]
    assert two > one + 0.05 and two > 0.8, (one, two)  # measured 0.75 and 0.84
    assert main(["elbow", "--comparisons", str(path.with_name("none.csv")), "--ranks", "2"]) == 2
    capsys.readouterr()
    no_annotators = tmp_path / "plain.csv"
    table.drop(columns=["annotator"]).to_csv(no_annotators, index=False)
    assert main(["elbow", "--comparisons", str(no_annotators), "--ranks", "2"]) == 2
    assert "need an 'annotator' column" in capsys.readouterr().err


def test_the_evidence_ridge_needs_item_features(written, capsys):
    assert main(["elbow", "--comparisons", str(written[0]), "--ridge", "evidence"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcirl: error: --ridge: evidence is for fits on item features") and err.count("\n") == 1
