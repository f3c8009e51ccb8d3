"""The store under attack (issue 50): concurrent merges and readers, links, URIs, damaged
pages, a held write lock, twins of one run id and huge plans lose nothing. Each race is driven
deterministically: one side is paused at the race point by a patched step."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tracemalloc

import pytest

from mcirl.cli import main
from mcirl.results import tables
from mcirl.store import Store, files
from mcirl.sweep.config import config_from_dict
from mcirl.sweep.plan import check_limits
from tests.sweep.configs import tiny_sweep


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A finished tiny sweep (k = 2) in a checkpointed database (no -wal beside it), and its
    config; tests copy it."""
    root = tmp_path_factory.mktemp("attacks")
    config = root / "tiny.toml"
    config.write_text(tiny_sweep("attack", (2,)))
    db = root / "base.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    assert not (root / "base.sqlite-wal").exists()
    return {"db": db, "config": config}


def fresh(stored, tmp_path, name="r.sqlite"):
    db = tmp_path / name
    shutil.copy(stored["db"], db)
    return db


def one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err
    return err


def readable(store):
    """Every tidy table of an open store, as comparable text (NaN equal to NaN)."""
    return json.loads(json.dumps({name: rows for name, (_, rows) in tables(store).items()}, default=str))


def snapshot(db):
    with Store(db, readonly=True) as store:
        return readable(store)


# 1. a failed merge never deletes a database someone else has opened -------------------------

def test_a_failed_merge_leaves_a_database_another_process_created_meanwhile(stored, tmp_path, capsys,
                                                                             monkeypatch):
    """A merge into a new file fails on its second source, after a sweep has created the
    target and stored a run there: the target and that run stay (the merge used to unlink
    it, with its -wal and -shm)."""
    from mcirl.store import merge

    target = tmp_path / "all.sqlite"
    bad = tmp_path / "bad.sqlite"
    bad.write_text("junk")
    real = merge.open_source

    def racing(path, into):
        if path == bad:  # the race point: the sweep runs while the merge checks its sources
            assert main(["sweep", str(stored["config"]), "--db", str(target), "--quiet"]) == 0
            capsys.readouterr()
        return real(path, into)

    monkeypatch.setattr(merge, "open_source", racing)
    assert main(["results", "merge", "--from", str(stored["db"]), str(bad), "--db", str(target)]) == 2
    one_line_error(capsys, "bad.sqlite")
    assert target.exists() and snapshot(target)["runs"][0]["name"] == "attack"


def test_a_merge_into_a_new_file_writes_it_whole_or_not_at_all(stored, tmp_path, capsys, monkeypatch):
    """Killed (here: failing) while it copies rows, a merge into a new file leaves no file and
    no temporary beside it; a merge that succeeds leaves one checkpointed file (no -wal)."""
    from mcirl.store import merge

    target = tmp_path / "new.sqlite"

    def failing(db, rows):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(merge, "_upsert_runs", failing)
    assert main(["results", "merge", "--from", str(stored["db"]), "--db", str(target)]) == 2
    capsys.readouterr()
    assert sorted(os.listdir(tmp_path)) == []
    monkeypatch.undo()
    assert main(["results", "merge", "--from", str(stored["db"]), "--db", str(target)]) == 0
    assert sorted(os.listdir(tmp_path)) == ["new.sqlite"]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # what a plain open() gives, not 0600
    assert snapshot(target) == snapshot(stored["db"])


@pytest.mark.parametrize("link", ["dangling", "loop"])
def test_a_db_that_is_a_broken_symbolic_link_is_refused_and_kept(tmp_path, stored, capsys, link):
    db = tmp_path / "link.sqlite"
    db.symlink_to(tmp_path / "nowhere.sqlite" if link == "dangling" else db)
    for argv in (["sweep", str(stored["config"]), "--db", str(db)],
                 ["results", "merge", "--from", str(stored["db"]), "--db", str(db)]):
        assert main(argv) == 2
        one_line_error(capsys, "db", "symbolic link")
        assert db.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link.sqlite"]


# 2. readers see one consistent snapshot while a writer checkpoints ---------------------------

def test_a_reader_opened_before_a_sweep_writes_reads_what_was_there(stored, tmp_path):
    """A reader opens a database no one writes (the case that was opened immutable=1, taking
    no locks); a sweep then stores a second run and checkpoints it into the file; the reader
    still reads exactly what was there when it opened (it read torn pages: 'database disk
    image is malformed', or a run without its rows)."""
    db = fresh(stored, tmp_path)
    before = snapshot(db)
    config = tmp_path / "other.toml"
    config.write_text(tiny_sweep("other", (3,)))
    with Store(db, readonly=True) as reader:
        reader.runs()
        assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
        assert not (tmp_path / "r.sqlite-wal").exists()  # checkpointed into the file
        assert readable(reader) == before
    assert len(snapshot(db)["runs"]) == 2


def test_a_snapshot_taken_while_the_file_changes_is_taken_again(stored, tmp_path, monkeypatch):
    """The race point: a writer commits and checkpoints between the reader's look at the file
    and its copy. The copy is discarded and taken again; nothing beside the file is left."""
    db = fresh(stored, tmp_path)
    config = tmp_path / "other.toml"
    config.write_text(tiny_sweep("other", (3,)))
    real, calls = files._copy_pages, []

    def racing(path):
        calls.append(path)
        if len(calls) == 1:  # the sweep's own opens copy pages too: they are calls 2, 3, ...
            assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
            calls.append("sweep done")
        return real(path)

    monkeypatch.setattr(files, "_copy_pages", racing)
    with Store(db, readonly=True) as reader:
        assert len(reader.runs()) == 2
    # the copy after the sweep is the last: the first (the file changed under it) was taken again
    assert calls[-2] == "sweep done" and calls[-1] == db.absolute()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.toml", "r.sqlite"]


# 3. two names of one file ------------------------------------------------------------------

def test_a_hard_linked_database_is_refused_to_writers(stored, tmp_path, capsys):
    db = fresh(stored, tmp_path)
    twin = tmp_path / "twin.sqlite"
    os.link(db, twin)
    data = db.read_bytes()
    for argv in (["sweep", str(stored["config"]), "--db", str(twin), "--resume"],
                 ["results", "merge", "--from", str(stored["db"]), "--db", str(twin)]):
        assert main(argv) == 2
        one_line_error(capsys, "db", "hard link")
    assert db.read_bytes() == data and not (tmp_path / "twin.sqlite-wal").exists()
    assert main(["results", "list", "--db", str(twin)]) == 0  # reading it is safe


# 4. URIs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["file:foreign.db", "file:x?mode=memory", "FILE:foreign.db"])
def test_a_uri_is_refused_and_a_foreign_file_of_that_name_untouched(stored, tmp_path, capsys,
                                                                    monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE mine (x)")
    con.commit()
    con.close()
    data = foreign.read_bytes()
    for argv in (["sweep", str(stored["config"]), "--db", name],
                 ["results", "merge", "--from", str(stored["db"]), "--db", name],
                 ["results", "list", "--db", name]):
        assert main(argv) == 2
        one_line_error(capsys, "db", "URI")
    assert foreign.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.db"]


# 5. plans are sized before they are made -----------------------------------------------------

def test_a_plan_of_a_billion_blocks_is_refused_before_it_is_allocated():
    config = config_from_dict({"instances": {"reps": 10**9, "reps_per_task": 1}})
    tracemalloc.start()
    try:
        with pytest.raises(Exception, match="grid tasks"):
            check_limits(config, [object()])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


# 6. damaged pages ----------------------------------------------------------------------------

def damaged(stored, tmp_path):
    db = fresh(stored, tmp_path)
    with open(db, "r+b") as f:  # zero every page but the header's
        size = os.path.getsize(db)
        page = 4096
        for offset in range(page, size, page):
            f.seek(offset)
            f.write(bytes(page))
    return db


@pytest.mark.parametrize("command", ["list", "show", "export", "report", "sweep", "merge", "elbow",
                                     "merge-from"])
def test_a_damaged_database_is_refused_and_left_as_it_was(stored, tmp_path, capsys, command):
    db = damaged(stored, tmp_path)
    data = db.read_bytes()
    other = tmp_path / "other.sqlite"
    argv = {"list": ["results", "list", "--db", str(db)],
            "show": ["results", "show", "--db", str(db)],
            "export": ["results", "export", "--db", str(db), "--output", str(tmp_path / "out")],
            "report": ["report", "--db", str(db), "-o", str(tmp_path / "rep" / "report.md")],
            "sweep": ["sweep", str(stored["config"]), "--db", str(db), "--resume"],
            "merge": ["results", "merge", "--from", str(stored["db"]), "--db", str(db)],
            "merge-from": ["results", "merge", "--from", str(db), "--db", str(other)],
            "elbow": ["elbow", "--k", "2", "--d", "4", "--reps", "2", "--n-max", "64", "--db", str(db),
                      "--quiet"]}[command]
    assert main(argv) == 2
    one_line_error(capsys, "damaged")
    assert db.read_bytes() == data and not other.exists()


# 7. a write lock held by another process -----------------------------------------------------

def test_a_busy_database_waits_with_a_message_then_ends_in_one_line(stored, tmp_path, capsys, monkeypatch):
    from mcirl.store import database

    db = fresh(stored, tmp_path)
    monkeypatch.setattr(database, "BUSY_SECONDS", 0.5)
    monkeypatch.setattr(database, "BUSY_NOTICE", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a merge holding its one transaction
    try:
        assert main(["sweep", str(stored["config"]), "--db", str(db), "--resume", "--quiet"]) == 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert "waiting" in err and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("mcirl: error: --db: stayed busy")


# 8. one run id, two contents -----------------------------------------------------------------

def test_twins_of_one_run_id_with_different_rows_are_not_mixed(stored, tmp_path, capsys):
    """The same config run by different code (here: one estimate changed) is refused by a
    merge, nothing written; an identical twin merges as before."""
    a = fresh(stored, tmp_path, "a.sqlite")
    b = fresh(stored, tmp_path, "b.sqlite")
    con = sqlite3.connect(b)
    con.execute("UPDATE estimates SET failures_theorem = failures_theorem + 1 "
                "WHERE rowid = (SELECT MIN(rowid) FROM estimates)")
    con.commit()
    con.close()
    before = a.read_bytes()
    assert main(["results", "merge", "--from", str(b), "--db", str(a)]) == 2
    one_line_error(capsys, "b.sqlite", "estimates", "differ")
    assert a.read_bytes() == before
    assert main(["results", "merge", "--from", str(stored["db"]), "--db", str(a)]) == 0


# degraded, not lost --------------------------------------------------------------------------

def test_a_finished_sweep_leaves_its_rows_in_the_file_itself(stored, tmp_path):
    """Copying the .sqlite alone after a sweep (a reader was open meanwhile) keeps every run:
    the writer checkpoints on close."""
    db = fresh(stored, tmp_path)
    config = tmp_path / "other.toml"
    config.write_text(tiny_sweep("other", (3,)))
    with Store(db, readonly=True):
        assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    alone = tmp_path / "copy" / "alone.sqlite"
    alone.parent.mkdir()
    shutil.copy(db, alone)
    assert len(snapshot(alone)["runs"]) == 2


def test_a_report_onto_a_fifo_is_refused(stored, tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["report", "--db", str(stored["db"]), "-o", str(fifo), "--no-figures", "--no-ladder"]) == 2
    one_line_error(capsys, "out")
    assert fifo.exists() and not fifo.is_file()
