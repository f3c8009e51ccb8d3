"""Output files: atomic replacement, and bad paths as InputErrors naming the option."""

from pathlib import Path

import pytest

from mcirl.cli import main
from mcirl.errors import InputError
from mcirl.output import atomic_path, output_dir

TINY = Path(__file__).parents[1] / "examples" / "tiny.toml"


@pytest.fixture(scope="module")
def mixed_db(tmp_path_factory):
    """A sweep and an elbow experiment in one database, as the README's store allows."""
    db = tmp_path_factory.mktemp("mixed") / "r.sqlite"
    assert main(["sweep", str(TINY), "--db", str(db), "--quiet"]) == 0
    assert main(["elbow", "--k", "2", "--d", "3", "--reps", "2", "--n-max", "8", "--test-pairs",
                 "50", "--bootstrap", "5", "--db", str(db), "--quiet"]) == 0
    return db


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path, "--output") as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer died")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with atomic_path(path, "--output") as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv"
        tmp.write_text("new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_bad_paths_name_the_option(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file").write_text("keep")
    for make, needle in ((lambda: atomic_path(tmp_path / "folder", "-o").__enter__(), "not a folder"),
                         (lambda: output_dir(tmp_path / "file", "--out"), "as a folder"),
                         (lambda: atomic_path(tmp_path / "file" / "x.png", "--out").__enter__(),
                          "as a folder")):
        with pytest.raises(InputError) as info:
            make()
        assert info.value.field in ("-o", "--out") and needle in str(info.value)
    assert (tmp_path / "file").read_text() == "keep"


@pytest.mark.parametrize("argv", [
    ["mdp", "make", "--S", "8", "--k", "2", "-o", "{folder}"],
    ["mdp", "make", "--S", "8", "--k", "2", "-o", "{file}/x.npz"],
    ["plot", "--db", "{db}", "--out", "{file}"],
    ["report", "--db", "{db}", "-o", "{folder}"],
    ["report", "--db", "{db}", "-o", "{file}/report.md"],
    ["results", "export", "--db", "{db}", "-o", "{file}"],
    ["reproduce", "seed-table", "--quick", "--db", "{new_db}", "--out", "{file}"],
    ["verify", "100", "--out", "{file}"],
])
def test_commands_refuse_bad_output_paths_in_one_line(capsys, tmp_path, mixed_db, argv):
    """Each was a traceback (IsADirectoryError, FileExistsError, NotADirectoryError); reproduce
    and verify now refuse before any work, so no database is created either."""
    folder, file = tmp_path / "folder", tmp_path / "file"
    folder.mkdir()
    file.write_text("keep")
    capsys.readouterr()
    argv = [a.format(folder=folder, file=file, db=mixed_db, new_db=tmp_path / "new.sqlite")
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mcirl: error: -"), err
    assert file.read_text() == "keep" and not (tmp_path / "new.sqlite").exists()


def test_a_report_renders_sweeps_and_elbow_runs_alike(capsys, tmp_path, mixed_db):
    """The Runs table read every run's sweep config (an elbow run has none: KeyError), and a
    database holding only elbow runs was refused ('holds no finished cells'), though `plot`
    drew it (issue 32)."""
    from mcirl.store import Store, merge_into

    out = tmp_path / "report.md"
    assert main(["report", "--db", str(mixed_db), "-o", str(out), "--no-figures", "--no-ladder"]) == 0
    text = out.read_text()
    runs = text.split("## Runs")[1]
    assert "| tiny |" in runs and "| elbow |" in runs and "## Seed table" in text
    assert "## Elbow experiment" in text
    elbow_only = tmp_path / "elbow.sqlite"
    with Store(mixed_db, readonly=True) as source, Store(elbow_only) as store:
        (run,) = [r for r in source.runs() if r["name"] == "elbow"]
        merge_into(store, [mixed_db])
        store.db.execute("DELETE FROM cells"), store.db.execute("DELETE FROM estimates")
        store.db.execute("DELETE FROM runs WHERE run_id != ?", (run["run_id"],))
        store.db.commit()
    out = tmp_path / "elbow" / "report.md"
    assert main(["report", "--db", str(elbow_only), "-o", str(out), "--no-ladder"]) == 0
    text = out.read_text()
    assert "## Elbow experiment" in text and "## Seed table" not in text and "elbow_curves.png" in text
    rows = text.split("## Elbow experiment")[1].split("## Runs")[0]
    assert rows.count("\n| 2 | ") == 1  # k = 2, the one latent dimension of the fixture


def test_a_full_disk_is_one_line_naming_the_option_and_keeps_the_old_file(tmp_path, capsys,
                                                                         monkeypatch):
    """ENOSPC while writing (report, plot, export, mdp make all write through atomic_path)."""
    import errno

    import numpy as np

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    path = tmp_path / "g.npz"
    assert main(["mdp", "make", "--S", "8", "--k", "2", "-o", str(path)]) == 0
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", full)
    assert main(["mdp", "make", "--S", "8", "--k", "2", "--mdp-seed", "3", "-o", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--output: cannot be written (No space left on device)" in err
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["g.npz"]


def test_a_store_that_cannot_be_written_is_one_line_and_keeps_what_it_held(tmp_path, capsys,
                                                                          monkeypatch):
    import sqlite3

    from mcirl.store import Store

    db = tmp_path / "r.sqlite"
    calls = {"n": 0}
    real = Store.put_task

    def fill_up(self, *args, **kwargs):  # the disk fills after two tasks
        calls["n"] += 1
        if calls["n"] > 2:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "put_task", fill_up)
    assert main(["sweep", str(TINY), "--db", str(db), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("mcirl: error: db: the results database cannot be written "
                              "(database or disk is full)") and "Traceback" not in "".join(err)
    with Store(db) as store:
        (run,) = store.runs()
        assert run["tasks"] == 2 and run["status"] == "interrupted"


def test_every_command_makes_missing_output_folders(tmp_path, capsys):
    """One policy (issue 30): a missing folder on an output path is created, for files and for
    a new results database alike (`sweep --db` used to refuse where `mdp make -o` created)."""
    from tests.sweep.configs import tiny_sweep

    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    db = tmp_path / "new" / "deep" / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    assert main(["mdp", "make", "--S", "8", "--k", "2", "-o", str(tmp_path / "a" / "b" / "m.npz")]) == 0
    assert main(["report", "--db", str(db), "-o", str(tmp_path / "c" / "r.md"), "--no-ladder",
                 "--no-figures"]) == 0
    assert main(["results", "export", "--db", str(db), "-o", str(tmp_path / "d" / "e")]) == 0
    capsys.readouterr()
    for path in (db, tmp_path / "a" / "b" / "m.npz", tmp_path / "c" / "r.md", tmp_path / "d" / "e"):
        assert path.exists(), path
    # a read command never makes anything: a missing database is one line
    assert main(["results", "list", "--db", str(tmp_path / "x" / "none.sqlite")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_output_file_honours_the_umask(tmp_path, capsys, mixed_db, umask):
    """Issue 32: atomic writes went through mkstemp's 0600 whatever the umask, so reports could
    not be shared; every file a command writes now gets 0666 & ~umask, like a plain open()."""
    import os

    old = os.umask(umask)
    try:
        out = tmp_path / "out"
        assert main(["mdp", "make", "--S", "8", "--k", "2", "-o", str(out / "m.npz")]) == 0
        assert main(["report", "--db", str(mixed_db), "-o", str(out / "r.md"), "--no-ladder"]) == 0
        assert main(["plot", "--db", str(mixed_db), "--out", str(out / "fig")]) == 0
        assert main(["results", "export", "--db", str(mixed_db), "-o", str(out / "csv")]) == 0
        assert main(["results", "export", "--db", str(mixed_db), "--format", "parquet",
                     "-o", str(out / "pq")]) == 0
    finally:
        os.umask(old)
    capsys.readouterr()
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".npz", ".md", ".png", ".csv", ".parquet"}
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(0o666 & ~umask)}


def test_one_number_format_everywhere():
    """Issue 32: 1.624e+04 beside 16,241, 803 beside 1.8e+03, [64, 1,024] beside 1476."""
    from mcirl.output import count_text, counted, number_text

    assert [number_text(x) for x in (0.0122, 8, 70.14, 100, 1846.2, 82706.8, 999_999, 1_198_292.9, 2.119e10)] == [
        "0.0122", "8", "70.1", "100", "1,846", "82,707", "999,999", "1.198e+06", "2.119e+10"]
    assert [count_text(x) for x in (560.9, 1475.55, 82706.2, 2.119e8)] == ["561", "1,476", "82,707", "2.119e+08"]
    assert number_text(float("nan")) == count_text(None) == "-"
    assert [counted(1, "criterion"), counted(3, "criterion"), counted(1000, "replicate")] == [
        "1 criterion", "3 criteria", "1,000 replicates"]
