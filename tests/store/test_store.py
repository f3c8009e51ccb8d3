"""Merging results databases (Store.merge, `mcirl results merge`): a union of runs that keeps
what is already stored, completes unfinished runs, and refuses bad sources without writing."""

import json
import shutil
import sqlite3

import pytest

from mcirl.cli import main
from mcirl.errors import InputError
from mcirl.report import growth_rows
from mcirl.results import collect
from mcirl.sweep.config import load_config
from mcirl.sweep.execute import InProcessExecutor
from mcirl.sweep.runner import drive_sweep
from mcirl.store import TABLES, Store, merge_into
from tests.sweep.configs import tiny_sweep


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two databases, each holding one finished run: k = 2 ("small") and k = 3 ("large")."""
    root = tmp_path_factory.mktemp("merge")
    dbs = {}
    for name, k in (("small", 2), ("large", 3)):
        config = root / f"{name}.toml"
        config.write_text(tiny_sweep(name, (k,)))
        dbs[name] = root / f"{name}.sqlite"
        with Store(dbs[name]) as store:
            drive_sweep(load_config(config), store, InProcessExecutor())
    return dbs


def rows_by_run(db):
    """{run name: {table: rows}} for every table holding per-run rows."""
    with Store(db) as store:
        return {run["name"]: {t: store.table(t, run["run_id"]) for t in TABLES}
                for run in store.runs()}


def copy(db, to):
    """A copy of a database and its WAL (a live store keeps recent commits there)."""
    for suffix in ("", "-wal", "-shm"):
        src = db.parent / (db.name + suffix)
        if src.exists():
            shutil.copy(src, to.parent / (to.name + suffix))
    return to


def test_merge_unites_runs_and_is_idempotent(tmp_path, two_runs, capsys):
    merged = tmp_path / "merged.sqlite"
    sources = [str(two_runs["small"]), str(two_runs["large"])]
    assert main(["results", "merge", "--from", *sources, "--db", str(merged), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["runs"] == 2 and all(r["added"]["runs"] == 1 for r in report["sources"])
    expected = {**rows_by_run(two_runs["small"]), **rows_by_run(two_runs["large"])}
    assert rows_by_run(merged) == expected
    # the report now compares the two k values, which no single database could
    with Store(merged) as store:
        (row,) = growth_rows(collect(store), "theorem", "k")
    assert row[3] == "k=3 / k=2"
    # merging again adds nothing and changes nothing
    assert main(["results", "merge", "--from", *sources, "--db", str(merged)]) == 0
    table = capsys.readouterr().out  # the tables the sources hold rows of, and no others
    assert "estimates" in table and "0 (1)" in table and "elbow" not in table
    assert main(["results", "merge", "--from", *sources, "--db", str(merged), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)["sources"]
    assert all(n == 0 for r in again for n in r["added"].values())
    assert sum(again[0]["present"].values()) == sum(report["sources"][0]["added"].values())
    assert rows_by_run(merged) == expected


def test_a_row_already_stored_is_kept(tmp_path, two_runs):
    dest = copy(two_runs["small"], tmp_path / "dest.sqlite")
    with sqlite3.connect(dest) as con:  # as if computed by other code: the merge must not overwrite it
        con.execute("UPDATE estimates SET failures_theorem = -1 WHERE m = (SELECT MIN(m) FROM estimates)")
    before = rows_by_run(dest)
    with Store(dest) as store:  # nor mix them: the twin run is refused (issue 50, item 8)
        with pytest.raises(InputError, match="estimates rows differ"):
            merge_into(store, [two_runs["small"]])
    assert rows_by_run(dest) == before


def test_an_unfinished_run_is_completed_and_a_finished_one_kept(tmp_path, two_runs):
    partial = copy(two_runs["small"], tmp_path / "partial.sqlite")
    with sqlite3.connect(partial) as con:  # as if interrupted after its first task
        first = con.execute("SELECT key FROM timings ORDER BY key LIMIT 1").fetchone()[0]
        con.execute("DELETE FROM estimates WHERE key != ?", (first,))
        con.execute("DELETE FROM timings WHERE key != ?", (first,))
        con.execute("DELETE FROM mstar")
        con.execute("UPDATE runs SET status = 'interrupted', finished = NULL")
    interrupted = rows_by_run(partial)
    full = rows_by_run(two_runs["small"])

    done = copy(two_runs["small"], tmp_path / "done.sqlite")
    with Store(done) as store:  # the unfinished copy does not undo the finished run
        merge_into(store, [partial])
    assert rows_by_run(done) == full

    with Store(partial) as store:  # the finished run completes the unfinished one
        (report,) = merge_into(store, [two_runs["small"]])
    assert report["added"]["runs"] == 1 and report["present"]["estimates"] > 0
    assert rows_by_run(partial) == full
    assert interrupted["small"]["runs"][0]["status"] == "interrupted"


def test_an_older_database_merges_with_its_missing_columns_null(tmp_path, two_runs):
    later = ("mean_regret", "mean_performance", "variance")  # estimate columns added since

    def without_later(rows):
        return [{k: v for k, v in r.items() if k not in later} for r in rows]

    old = copy(two_runs["large"], tmp_path / "old.sqlite")
    with sqlite3.connect(old) as con:  # the schema before these columns and tables existed
        for column in later:
            con.execute(f"ALTER TABLE estimates DROP COLUMN {column}")
        con.execute("ALTER TABLE cells DROP COLUMN lengths")
        con.execute("DROP TABLE elbow_curves")
        con.execute("DROP TABLE elbows")
    dest = tmp_path / "dest.sqlite"
    with Store(dest) as store:
        merge_into(store, [old])
    got = rows_by_run(dest)["large"]
    want = rows_by_run(two_runs["large"])["large"]
    assert all(r[c] is None for r in got["estimates"] for c in later)
    assert without_later(got["estimates"]) == without_later(want["estimates"])
    assert got["mstar"] == want["mstar"]
    assert [c["lengths"] for c in got["cells"]] == ["truncated"]  # the only kind there was
    with Store(dest) as store:
        (cell,) = collect(store)
    assert cell.lengths == "truncated" and cell.method == "projection"


def test_an_older_database_opens_with_the_columns_added_since(tmp_path, two_runs):
    old = copy(two_runs["small"], tmp_path / "old.sqlite")
    with sqlite3.connect(old) as con:
        con.execute("ALTER TABLE cells DROP COLUMN lengths")
        con.execute("ALTER TABLE estimates DROP COLUMN variance")
    with Store(old) as store:
        (cell,) = collect(store)
    assert cell.lengths == "truncated" and cell.k == 2
    with sqlite3.connect(old) as con:
        for table, column in (("cells", "lengths"), ("estimates", "variance")):
            assert column in [r[1] for r in con.execute(f"PRAGMA table_info({table})")]


def test_a_refused_merge_writes_nothing(tmp_path, two_runs, capsys):
    dest = copy(two_runs["small"], tmp_path / "dest.sqlite")
    before = rows_by_run(dest)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    fresh = tmp_path / "fresh.sqlite"
    cases = [
        (["--from", str(two_runs["large"]), str(tmp_path / "none.sqlite"), "--db", str(dest)], "no such"),
        (["--from", str(two_runs["large"]), str(junk), "--db", str(dest)], "cannot open"),
        (["--from", str(empty), "--db", str(dest)], "not an mcirl results database"),
        (["--from", str(dest), "--db", str(dest)], "must differ"),
        (["--db", str(dest)], "required: --from"),
        (["small", "--from", str(two_runs["large"]), "--db", str(dest)], "unrecognized arguments: small"),
        (["--from", str(junk), "--db", str(fresh)], "cannot open"),
    ]
    for argv, needle in cases:
        assert main(["results", "merge", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("mcirl: error: ") and needle in err, err
    assert rows_by_run(dest) == before  # the good source given first was not merged either
    assert not fresh.exists()
    assert main(["results", "list", "--from", str(junk), "--db", str(dest)]) == 2
    assert "unrecognized arguments: --from" in capsys.readouterr().err


def test_another_programs_database_is_refused_and_left_as_it_was(tmp_path, capsys):
    """Opening one used to add mcirl's tables to it and switch it to WAL, on any command."""
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    db.close()
    before = other.read_bytes()
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep())
    for argv in (["results", "list"], ["plot"], ["sweep", str(config), "--quiet"]):
        assert main([*argv, "--db", str(other)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "db: is an SQLite database of something else" in err
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.sqlite", "tiny.toml"]  # no -wal
    Store(tmp_path / "empty.sqlite").close()  # an empty file or a new name is a new store
    sqlite3.connect(tmp_path / "zero.sqlite").close()
    Store(tmp_path / "zero.sqlite").close()


def test_a_foreign_database_with_a_runs_table_is_refused_by_every_command(tmp_path, capsys,
                                                                          two_runs):
    """Issue 30's case: `create table runs(x)` was taken for a store, switched to WAL, given
    mcirl's tables, then crashed. Now every command refuses it, bytes and journal mode as they
    were, no -wal or -shm beside it; merge --from refuses it loudly."""
    other = tmp_path / "o.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE runs (x)")
        db.execute("INSERT INTO runs VALUES (1)")
    db.close()
    before = other.read_bytes()
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep())
    dest = tmp_path / "dest.sqlite"
    shutil.copy(two_runs["small"], dest)
    for argv in (["results", "list", "--db", str(other)], ["results", "show", "--db", str(other)],
                 ["results", "export", "--db", str(other), "-o", str(tmp_path / "x")],
                 ["report", "--db", str(other), "-o", str(tmp_path / "r.md")],
                 ["plot", "--db", str(other), "--out", str(tmp_path / "f")],
                 ["explain", "--db", str(other)],
                 ["sweep", str(config), "--db", str(other), "--quiet"],
                 ["results", "merge", "--from", str(other), "--db", str(dest)]):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is an SQLite database of something else" in err, err
    assert other.read_bytes() == before
    with sqlite3.connect(other) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    db.close()
    assert not any(p.name.startswith("o.sqlite-") for p in tmp_path.iterdir())


def test_read_commands_never_write_the_file_or_leave_litter(tmp_path, capsys, two_runs):
    db = tmp_path / "r.sqlite"
    shutil.copy(two_runs["small"], db)
    assert not (tmp_path / "r.sqlite-wal").exists()
    before = db.read_bytes()
    for argv in (["results", "list"], ["results", "show"], ["explain", "--draws", "500"],
                 ["report", "-o", str(tmp_path / "out" / "r.md"), "--no-ladder"]):
        assert main([*argv, "--db", str(db)]) == 0, argv
    capsys.readouterr()
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "r.sqlite"]


def test_an_older_database_is_read_through_a_migrated_copy(tmp_path, capsys, two_runs):
    """A database missing later columns (here: the certificate's, the optimistic m*) reads with
    them NULL or defaulted, from an in-memory copy: the file keeps its old schema."""
    db = tmp_path / "old.sqlite"
    shutil.copy(two_runs["small"], db)
    with sqlite3.connect(db) as con:
        for table, column in (("cells", "certificate"), ("mstar", "status_optimistic"),
                              *(("estimates", c) for c in ("terminated", "certified",
                                                           "undecided", "terminated_far"))):
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute("PRAGMA application_id = 0")  # written before the stamp, too
    con.close()
    before = db.read_bytes()
    assert main(["results", "show", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mstar"]
    assert db.read_bytes() == before
    with Store(db, readonly=True) as store:
        cells = collect(store)
    assert cells and all(c.certificate == "off" for c in cells)
    with Store(db) as store:  # a writing command migrates and stamps it: it is mcirl's
        pass
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA application_id").fetchone()[0] == 0x6D63726C
        assert "certificate" in {r[1] for r in con.execute("PRAGMA table_info(cells)")}
    con.close()


def test_a_store_being_written_is_read_through_its_wal(tmp_path, two_runs):
    """With a -wal file beside it (a writer has it open) a reader sees the committed
    transactions that are still only in the WAL."""
    db = tmp_path / "live.sqlite"
    shutil.copy(two_runs["small"], db)
    writer = sqlite3.connect(db)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    with writer:
        writer.execute("UPDATE runs SET name = 'renamed'")
    assert (tmp_path / "live.sqlite-wal").stat().st_size > 0
    with Store(db, readonly=True) as store:
        assert [r["name"] for r in store.runs()] == ["renamed"]
    writer.close()


def test_the_schema_is_generated_from_one_declaration():
    """Every table's SQL, column list, key and migrations come from SCHEMA_TABLES; the failure
    counts are one column per criterion; a database created now has exactly those columns."""
    from mcirl.learn import CRITERIA
    from mcirl.store.schema import ESTIMATE_COLUMNS, SCHEMA, SCHEMA_TABLES

    assert [f"failures_{c}" for c in CRITERIA] == [c for c in ESTIMATE_COLUMNS if c.startswith("failures_")]
    con = sqlite3.connect(":memory:")
    con.executescript(SCHEMA)
    for table in SCHEMA_TABLES:
        info = con.execute(f"PRAGMA table_info({table.name})").fetchall()
        assert tuple(r[1] for r in info) == table.names
        assert tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])) == table.key
        assert all(table.migratable(c) for c in table.names), table.name
    con.close()


def _written_before_regret(db):
    """Make db as mcirl wrote it before the criterion `regret` existed: no failures_regret
    column, no regret m*."""
    with sqlite3.connect(db) as con:
        con.execute("ALTER TABLE estimates DROP COLUMN failures_regret")
        con.execute("DELETE FROM mstar WHERE criterion = 'regret'")


def _resume_write_and_report(tmp_path, two_runs, db):
    """What a user does with an older store: resume its run (one task lost), write a new run
    into it, report it. Returns the exit statuses."""
    with sqlite3.connect(db) as con:
        key = con.execute("SELECT key FROM timings ORDER BY key LIMIT 1").fetchone()[0]
        con.execute("DELETE FROM timings WHERE key = ?", (key,))
        con.execute("DELETE FROM estimates WHERE key = ?", (key,))
        con.execute("DELETE FROM mstar")
        con.execute("UPDATE runs SET status = 'interrupted'")
    small, large = (str(two_runs[name].with_suffix(".toml")) for name in ("small", "large"))
    return (main(["sweep", small, "--db", str(db), "--resume", "--quiet"]),
            main(["sweep", large, "--db", str(db), "--quiet"]),
            main(["report", "--db", str(db), "-o", str(tmp_path / "report" / "report.md")]))


def test_a_database_written_with_fewer_criteria_resumes_takes_runs_and_reports(tmp_path, two_runs):
    """Issue 49, item 1: the migration follows the schema, CRITERIA included."""
    old = copy(two_runs["small"], tmp_path / "old.sqlite")
    _written_before_regret(old)
    assert _resume_write_and_report(tmp_path, two_runs, old) == (0, 0, 0)
    want = rows_by_run(two_runs["small"])["small"]
    got = rows_by_run(old)["small"]
    assert [r["failures_theorem"] for r in got["estimates"]] == [r["failures_theorem"] for r in want["estimates"]]
    assert {r["criterion"] for r in got["mstar"]} == {r["criterion"] for r in want["mstar"]}
    assert rows_by_run(old)["large"]["estimates"] == rows_by_run(two_runs["large"])["large"]["estimates"]


def test_a_hand_written_migration_list_fails_on_a_new_criterion(tmp_path, two_runs, monkeypatch):
    """The planted bug: migrating only the columns a list names (as before issue 49) cannot
    write a database that lacks a criterion's column."""
    from mcirl.store import database, files, schema

    def listed_only(con):  # the old `added` lists named no failures_<criterion> column
        con.executescript(schema.SCHEMA)

    monkeypatch.setattr(database, "migrate", listed_only)
    monkeypatch.setattr(files, "migrate", listed_only)
    old = copy(two_runs["small"], tmp_path / "old.sqlite")
    _written_before_regret(old)
    with pytest.raises((sqlite3.OperationalError, KeyError), match="failures_regret"):
        _resume_write_and_report(tmp_path, two_runs, old)


def test_a_writer_on_another_host_holds_a_lease_until_its_heartbeat_goes_stale(tmp_path, capsys):
    """Issue 30, item 2: a run written from another host (its pid cannot be looked up here) is
    refused to a second --resume while its heartbeat is fresh, and taken over once it is
    older than the lease; a stale one reads 'interrupted'."""
    import time

    from mcirl.store.leases import LEASE_SECONDS

    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    with Store(db) as store:
        (run,) = store.runs()
        store.db.execute("UPDATE runs SET status = 'running', writer = 'far-away-host 4242 99', "
                         "heartbeat = ? WHERE run_id = ?", (time.time(), run["run_id"]))
        store.db.commit()
    capsys.readouterr()
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "being written by process 4242 on far-away-host" in err and len(err.strip().splitlines()) == 1
    with Store(db) as store:
        assert store.runs()[0]["status"] == "running"
        store.db.execute("UPDATE runs SET heartbeat = ?", (time.time() - LEASE_SECONDS - 1,))
        store.db.commit()
        assert store.runs()[0]["status"] == "interrupted"
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 0
    with Store(db) as store:
        (run,) = store.runs()
        assert run["status"] == "done" and run["writer"].split()[0] != "far-away-host"


def test_a_running_run_with_no_writer_recorded_reads_unknown_and_resumes(tmp_path):
    """A run a database stored before writers were recorded, left 'running': nothing can tell
    whether its process lives, so it reads 'unknown' (not 'running'), and --resume takes it."""
    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    with Store(db) as store:
        store.db.execute("UPDATE runs SET status = 'running', writer = NULL, heartbeat = NULL")
        store.db.commit()
        assert store.runs()[0]["status"] == "unknown"
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 0
    with Store(db) as store:
        assert store.runs()[0]["status"] == "done"


def test_the_lease_is_renewed_while_a_long_task_computes(tmp_path):
    import time

    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.start_run("r1", "lease", {}, {}, resume=False)
        first = store.db.execute("SELECT heartbeat FROM runs").fetchone()[0]
        with store.keep_alive("r1", beat=0.05):
            time.sleep(0.4)  # a task computing: no store writes from the main thread
        renewed = store.db.execute("SELECT heartbeat FROM runs").fetchone()[0]
    assert renewed > first + 0.1


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_a_database_that_cannot_be_written_is_refused_before_sqlite_opens_it(tmp_path, capsys, two_runs,
                                                                            monkeypatch, locked):
    """A read-only file (or folder: WAL's -wal and -shm could not be made) gives one line and
    exit 2 from a writing command, with the file's bytes kept and no -wal/-shm beside it; the
    reading commands still read it. Permission bits do not bind root (the suite may run as
    root), so os.access is what is made to say no; the planted twin shows the refusal is that."""
    from mcirl.store import files as store_module

    db = tmp_path / "r.sqlite"
    shutil.copy(two_runs["small"], db)
    config = tmp_path / "small.toml"
    config.write_text(tiny_sweep("small", (2,)))
    before = db.read_bytes()
    target = db if locked == "file" else tmp_path
    real_access = store_module.os.access
    monkeypatch.setattr(store_module.os, "access",
                        lambda p, mode: False if (mode == store_module.os.W_OK and str(p) == str(target))
                        else real_access(p, mode))
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcirl: error: --db: cannot be written") and err.count("\n") == 1, err
    assert db.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["r.sqlite", "small.toml"]
    assert main(["results", "list", "--db", str(db), "--json"]) == 0
    monkeypatch.setattr(store_module.os, "access", real_access)  # the twin: writable again, it resumes
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 0
