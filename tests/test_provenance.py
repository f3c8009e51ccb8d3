"""Provenance: where a run's numbers came from, stored with the run and readable as objects."""

import json
import subprocess
import types
from pathlib import Path

import pytest

import mcirl
from mcirl import provenance
from mcirl.cli import main
from tests.sweep.configs import stored_sweep

ROOT = Path(__file__).parents[1]


def _head() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or None
    except OSError:
        return None


def test_the_commit_of_a_checkout_is_its_head_and_says_when_it_is_dirty():
    head = _head()
    if head is None or Path(provenance.__file__).resolve().parent != ROOT / "src" / "mcirl":
        pytest.skip("not running from a git checkout of mcirl (an installed wheel)")
    assert provenance.source_commit() in (head, f"{head}-dirty")


def test_without_a_checkout_the_commit_baked_in_at_build_time_is_used(monkeypatch):
    """A wheel or a non-editable install has no .git beside it; setuptools-scm wrote the commit
    (with its 'g' prefix) into mcirl._version."""
    monkeypatch.setattr(provenance, "_git", lambda *a: "")
    fake = types.SimpleNamespace(__commit__="g0123abc", __dirty__=False)
    monkeypatch.setitem(__import__("sys").modules, "mcirl._version", fake)
    monkeypatch.setattr(mcirl, "_version", fake, raising=False)
    assert provenance.source_commit() == "0123abc"
    fake.__dirty__ = True
    assert provenance.source_commit() == "0123abc-dirty"
    fake.__commit__ = None  # built without git metadata (a source tarball)
    assert provenance.source_commit() is None


def test_a_run_records_versions_machine_and_iso_times(tmp_path, capsys):
    db = stored_sweep(tmp_path)
    capsys.readouterr()
    assert main(["results", "list", "--db", str(db), "--json"]) == 0
    (run,) = json.loads(capsys.readouterr().out)
    env = run["environment"]
    assert run["package_version"] == mcirl.__version__
    assert isinstance(run["config"], dict) and run["config"]["name"] == run["name"]
    assert env["packages"]["numpy"] and env["packages"]["scipy"] and env["packages"]["numba"]
    assert env["cores"] >= 1 and env["cpu"] and env["gpu"] is None
    assert run["started"].endswith("+00:00") and run["started"][:2] == "20" and "T" in run["started"]
    assert run["device"].startswith("cpu: ") and "cores" in run["device"]
