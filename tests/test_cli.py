import json
import re
import subprocess
import sys

import numpy as np
import pytest

from mcirl.cli import main

TINY = ["--S", "12", "--A", "2", "--b", "3", "--k", "3", "--gamma", "0.8", "--mdp-seed", "2"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_table(capsys):
    code, out, _ = run(capsys, "bound", "--seed-table")
    assert code == 0
    for value in ("1.198e+06", "2.119e+08", "1.198e+08", "2.119e+10", "177x"):
        assert value in out
    code, out, _ = run(capsys, "bound", "--seed-table", "--json")
    table = json.loads(out)
    assert table["k"] == [10, 1000] and table["gamma"] == [0.9, 0.99]
    np.testing.assert_allclose(table["m"], [[1.198e6, 2.119e8], [1.198e8, 2.119e10]], rtol=5e-4)


def test_seed_table_other_lists(capsys):
    code, out, _ = run(capsys, "bound", "--seed-table", "--k", "2", "5", "50", "--gamma", "0.5", "--json")
    table = json.loads(out)
    assert code == 0 and np.array(table["m"]).shape == (1, 3)


def test_bound_json(capsys):
    code, out, _ = run(capsys, "bound", "--k", "16", "--gamma", "0.95", "--eps", "1", "--delta", "0.05", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["m_AN_ceil"] == 82707 and row["horizon"] == 221


def test_mdp_make_and_info(capsys, tmp_path):
    path = tmp_path / "g.npz"
    code, out, _ = run(capsys, "mdp", "make", *TINY, "-o", str(path), "--json")
    made = json.loads(out)
    assert code == 0 and path.exists() and made["S"] == 12 and made["k"] == 3
    code, out, _ = run(capsys, "mdp", "info", str(path), "--json")
    info = json.loads(out)
    assert info["expert_return"] == pytest.approx(made["expert_return"])
    code, out, _ = run(capsys, "mdp", "info", str(path))
    assert code == 0 and "expert_return" in out


def test_mdp_info_on_the_gpu_backend(capsys, tmp_path, fake_cupy, monkeypatch):
    """--backend gpu solves the expert with the device arrays (tests/fake_cupy.py here)."""
    from mcirl import solve

    path = tmp_path / "g.npz"
    run(capsys, "mdp", "make", *TINY, "-o", str(path))
    solved_on = []
    expert = solve.expert
    monkeypatch.setattr(solve, "expert", lambda mdp: solved_on.append(mdp.xp) or expert(mdp))
    cpu, gpu = (json.loads(run(capsys, "mdp", "info", str(path), "--json", "--backend", b)[1])
                for b in ("cpu", "gpu"))
    assert cpu.pop("file") == gpu.pop("file") and cpu["expert_return"] > 0
    words = {key for key, value in cpu.items() if isinstance(value, str)}  # family, features, ...
    assert {key: gpu.pop(key) for key in words} == {key: cpu.pop(key) for key in words}
    assert gpu == pytest.approx(cpu, rel=1e-12) and solved_on == [np, fake_cupy]


def test_mdp_make_without_a_gpu_writes_nothing(capsys, tmp_path, monkeypatch):
    from mcirl import backend

    monkeypatch.setattr(backend, "gpu_missing", lambda: "CuPy is not installed")
    path = tmp_path / "g.npz"
    code, _, err = run(capsys, "mdp", "make", *TINY, "-o", str(path), "--backend", "gpu")
    assert code == 2 and err.count("\n") == 1 and "backend" in err and not path.exists()


def test_gridworld_file(capsys, tmp_path):
    path = tmp_path / "grid.npz"
    code, out, _ = run(capsys, "mdp", "make", "--family", "gridworld", "--N", "8", "--macro", "4",
                       "-o", str(path), "--json")
    assert code == 0 and json.loads(out)["k"] == 4


def test_estimate_json_and_bound_keyword(capsys, tmp_path):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "1", "16", "bound",
                       "--reps", "10", "--json")
    rows = json.loads(out)
    assert code == 0 and len(rows) == 3
    for key in ("m", "reps", "failures", "rate", "ci_low", "ci_high", "criterion", "algorithm",
                "mean_iterations", "nonterminated", "horizon", "bound"):
        assert key in rows[0]
    assert rows[-1]["m"] == int(np.ceil(rows[-1]["bound"]))
    path = tmp_path / "t.npz"
    run(capsys, "mdp", "make", *TINY, "-o", str(path))
    code, out, _ = run(capsys, "estimate", "--mdp", str(path), "--eps", "1", "--m", "1e2",
                       "--reps", "5", "--algorithm", "max-margin", "--criterion", "l2",
                       "--sampler", "trajectories", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["m"] == 100 and row["algorithm"] == "max-margin" and row["criterion"] == "l2"
    # each row names its cell (issue 32): the file's own spec, and the sizes read off its arrays
    made = dict(zip(TINY[::2], TINY[1::2]))
    assert (row["mdp_file"], row["family"], row["k"], row["S"], row["eps"], row["delta"]) == (
        str(path), "garnet", int(made["--k"]), int(made["--S"]), 1.0, 0.05)
    assert [rows[0][key] for key in ("k", "gamma", "S", "A", "eps", "delta", "mdp_seed")] == [
        3, 0.8, 12, 2, 1.0, 0.05, 2]


def test_estimate_json_carries_outcomes_and_seconds(capsys):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "0.3", "--m", "1", "64", "--reps", "20",
                       "--json")
    rows = json.loads(out, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))
    assert code == 0
    for row in rows:
        assert row["max_gap"] is None  # MWAL's, not measured here: null, never NaN
        assert sum(row["outcomes"].values()) == row["reps"]
        assert row["nonterminated"] == row["outcomes"]["certified"] + row["outcomes"]["undecided"]
        assert set(row["seconds"]) == {"expert", "sample", "learn"}
        assert row["failures_if_undecided_succeed"] == row["failures"] - row["outcomes"]["undecided"]
    assert rows[0]["outcomes"]["certified"] > 0  # m = 1: far estimates, proven hopeless
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "0.3", "--m", "1", "--reps", "20",
                       "--projection-step", "line", "--json")
    (row,) = json.loads(out)  # the line step turns the certificate off: rows reach the cap
    assert row["outcomes"]["certified"] == 0 and row["outcomes"]["undecided"] > 0
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "0.3", "--m", "1", "--reps", "5",
                       "--projection-step", "line", "--quiet")
    assert "certificate off, line step" in " ".join(out.split())


def test_estimate_trailer_states_what_mwal_and_lpal_guarantee(capsys):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "16", "--reps", "5",
                       "--algorithm", "mwal", "--quiet")
    out = " ".join(out.split())  # the trailer wraps at the terminal's width
    assert code == 0 and "rounds guarantee a" in out and "certified gaps up to" in out
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "16", "--reps", "5",
                       "--algorithm", "lpal", "--quiet")
    assert code == 0 and "exactly" in out


def test_estimate_table(capsys):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "4", "--reps", "5", "--quiet")
    assert code == 0 and "failures" in out and "bound m_AN" in out and "sampler" in out


def test_estimate_with_geometric_lengths(capsys):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "4", "--reps", "5",
                       "--lengths", "geometric", "--json")
    (row,) = json.loads(out)
    assert code == 0 and row["lengths"] == "geometric" and row["horizon"] is None
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "4", "--reps", "5",
                       "--lengths", "geometric", "--quiet")
    assert code == 0 and "geometric lengths" in " ".join(out.split())  # the title may wrap


def write_npz(path, **changes):
    S, A, k = 4, 2, 2
    arrays = dict(P=np.full((S, A, S), 1 / S), phi=np.full((S, k), 0.5), w=np.array([0.5, 0.5]),
                  d0=np.full(S, 1 / S), gamma=np.float64(0.9))
    arrays.update(changes)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return str(path)


BAD_ARGS = [
    (["estimate", *TINY[:-4], "--gamma", "1.0", "--m", "4"], "gamma"),
    (["estimate", *TINY, "--eps", "0", "--m", "4"], "eps"),
    (["estimate", *TINY, "--delta", "1.5", "--m", "4"], "delta"),
    (["estimate", "--k", "0", "--m", "4"], "k"),
    (["estimate", *TINY, "--m", "0"], "m"),
    (["estimate", *TINY, "--m", "4", "--reps", "0"], "reps"),
    (["estimate", "--S", "4", "--k", "8", "--m", "4"], "S >= k"),
    (["estimate", *TINY, "--m", "4", "--max-iter", "0"], "--max-iter"),
    (["estimate", *TINY, "--m", "abc"], "--m"),
    (["estimate", *TINY, "--m", "4", "--algorithm", "magic"], "--algorithm"),
    (["estimate", *TINY], "--m"),
    (["estimate", *TINY, "--m", "4", "--certificate", "on", "--projection-step", "line"],
     "certificate: must be off with the line projection step"),
    (["estimate", *TINY, "--m", "4", "--certificate", "maybe"], "--certificate"),
    (["estimate", *TINY, "--m", "4", "--projection-step", "diagonal"], "--projection-step"),
    (["verify", "abbeel-ng", "--certificate", "on", "--projection-step", "line"],
     "certificate: must be off"),
    (["bound", "--k", "0", "--gamma", "0.9"], "k"),
    (["bound", "--k", "3", "--gamma", "-0.5"], "gamma"),
    (["bound", "--k", "3"], "--seed-table"),
    (["mdp", "info", "/nonexistent/file.npz"], "not found"),
    # overflow: int64 seeds, int32 sizes, bounds past int64, huge MDP tables
    (["estimate", *TINY, "--m", "4", "--seed", "1e30"], "seed: must be an integer in [0, 2^63 - 1]"),
    (["estimate", *TINY, "--m", "4", "--mdp-seed", "-1"], "--mdp-seed: must be"),
    (["estimate", *TINY, "--m", "4", "--reps", "1e30"], "reps: must be an integer in [1, 2^31 - 1]"),
    (["estimate", *TINY, "--m", "4", "--max-iter", "1e30"], "--max-iter: must be"),
    (["mdp", "make", "--S", "1e9", "-o", "/nonexistent/x.npz"], "S*A*b: the transition table"),
    (["bound", "--k", "1000", "--gamma", "0.99", "--eps", "1e-7"], "eps: is too small"),
    (["bound", "--seed-table", "--eps", "1e-300"], "eps: is too small"),
    # only MWAL's rounds pass int64 here
    (["bound", "--k", "10", "--gamma", "0.99", "--eps", "4.5e-7"], "eps: is too small"),
    (["elbow", "--feature-noise", "1e7"], "--feature-noise"),
    (["estimate", *TINY, "--m", "bound", "--eps", "1e-300"], "m: 'bound' is m_AN = inf"),
    # the options are checked before the MDP is drawn (here it could not be)
    (["estimate", "--S", "1e9", "--m", "4", "--eps", "-1"], "eps: must be"),
    (["elbow", "--n-items", "1e30"], "--n-items: must be an integer in [2, 2^31 - 1]"),
]


@pytest.mark.parametrize("argv, needle", BAD_ARGS)
def test_bad_input_is_one_line_exit_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mcirl: error:") and needle in err


@pytest.mark.parametrize("changes, needle", [
    (dict(P=np.full((4, 2, 4), 0.3)), "P: each row"),
    (dict(phi=np.full((4, 2), 1.5)), "phi: features must lie in [0, 1]"),
    (dict(phi=np.full((4, 2), np.nan)), "phi: must be finite"),
    (dict(w=None), "lacks the key(s) w"),
    (dict(phi=np.full((3, 2), 0.5)), "phi: must have shape"),
    (dict(d0=np.full(4, 0.3)), "d0: d0 must sum to 1"),
    (dict(gamma=np.float64(1.2)), "gamma"),
    (dict(gamma=np.array("0.9")), "gamma: must be a real scalar in [0, 1) (got 'shape (), dtype <U3')"),
    (dict(gamma=np.array(True)), "gamma: must be a real scalar"),
])
def test_bad_mdp_files(capsys, tmp_path, changes, needle):
    path = write_npz(tmp_path / "bad.npz", **changes)
    for argv in (["mdp", "info", path], ["estimate", "--mdp", path, "--m", "4"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and needle in err, err


def test_a_npy_file_named_npz_is_one_line(capsys, tmp_path):
    path = tmp_path / "array.npz"
    with open(path, "wb") as f:
        np.save(f, np.zeros((4, 4)))
    code, _, err = run(capsys, "mdp", "info", str(path))
    assert code == 2 and err.count("\n") == 1 and "mdp: is a single .npy array" in err


def test_unreadable_file_and_mixed_options(capsys, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00garbage")
    code, _, err = run(capsys, "mdp", "info", str(junk))
    assert code == 2 and "cannot read" in err
    good = write_npz(tmp_path / "ok.npz")
    # every family option is refused, named as typed
    for option in (["--k", "3"], ["--p-fail", "0.2"], ["--mdp-seed", "1"], ["--family", "garnet"],
                   ["--feature-density", "0.2"], ["--gamma", "0.9"]):
        code, _, err = run(capsys, "estimate", "--mdp", good, *option, "--m", "4")
        assert code == 2 and err == (f"mcirl: error: --mdp: --mdp FILE excludes the family options "
                                     f"(got {option[0]})\n"), err


def test_failed_make_keeps_existing_file(capsys, tmp_path):
    path = tmp_path / "keep.npz"
    run(capsys, "mdp", "make", *TINY, "-o", str(path))
    before = path.read_bytes()
    code, _, err = run(capsys, "mdp", "make", "--S", "3", "--k", "9", "-o", str(path))
    assert code == 2 and path.read_bytes() == before


def test_console_script_subprocess_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "mcirl", "estimate", "--gamma", "2", "--m", "4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "gamma" in proc.stderr


def test_a_closed_pipe_ends_quietly():
    """`mcirl ... --json | head`: the reader is gone before mcirl writes; no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "mcirl", "bound", "--seed-table", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == ""


@pytest.mark.parametrize("algorithm", ["mwal", "lpal"])
def test_estimate_with_mwal_and_lpal(capsys, algorithm):
    code, out, _ = run(capsys, "estimate", *TINY, "--eps", "1", "--m", "8", "256", "--reps", "6",
                       "--algorithm", algorithm, "--criterion", "regret", "--max-iter", "50", "--json")
    rows = json.loads(out)
    assert code == 0 and all(r["algorithm"] == algorithm and r["nonterminated"] == 0 for r in rows)


def test_bound_lists_every_bound(capsys):
    code, out, _ = run(capsys, "bound", "--k", "10", "--gamma", "0.9", "--variance", "0.01", "--json")
    (row,) = json.loads(out)
    for name in ("abbeel-ng", "mwal", "pinelis", "pinelis-onehot", "regret", "bernstein"):
        assert row[f"m_{name}"] > 0
    assert row["mwal_iterations"] > 0
    code, _, err = run(capsys, "bound", "--k", "10", "--gamma", "0.9", "--variance", "0.5")
    assert code == 2 and "variance" in err


def test_ctrl_c_inside_a_numba_call_is_an_interrupt_not_a_traceback(capsys, monkeypatch):
    """Ctrl-C landing in a Numba function's call surfaces as a SystemError raised from the
    KeyboardInterrupt (seen in CI: the interrupted-sweep test); any other SystemError is a bug
    and must propagate."""
    from mcirl import cli

    def interrupted_in_numba(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError("CPUDispatcher(...) returned a result with an exception set") from exc

    monkeypatch.setattr(cli.bound, "run", interrupted_in_numba)
    assert main(["bound", "--k", "10"]) == 130
    assert capsys.readouterr().err == "mcirl: interrupted\n"

    def broken(args):
        raise SystemError("a real bug")

    monkeypatch.setattr(cli.bound, "run", broken)
    with pytest.raises(SystemError, match="a real bug"):
        main(["bound", "--k", "10"])


def test_a_table_wider_than_80_columns_prints_every_value_whole(capsys, monkeypatch):
    """Rich fits tables to 80 columns off a terminal by cutting cells to "1.198…": a wrong
    number. Every value of the JSON must appear whole in the table."""
    from mcirl.output import count_text

    for name in ("TTY_COMPATIBLE", "FORCE_COLOR", "COLUMNS"):  # stdout is no terminal here
        monkeypatch.delenv(name, raising=False)
    argv = ("bound", "--k", "10", "1000", "--gamma", "0.9", "0.99", "--variance", "0.01")
    code, out, _ = run(capsys, *argv, "--json")
    rows = json.loads(out)
    code, out, _ = run(capsys, *argv)
    assert code == 0 and max(map(len, out.splitlines())) > 80 and "…" not in out
    for row in rows:
        for name in ("abbeel-ng", "mwal", "pinelis", "pinelis-onehot", "regret", "bernstein"):
            assert f" {count_text(row[f'm_{name}'])} " in out
        assert f" {count_text(row['mwal_iterations'])} " in out


def test_a_table_in_a_narrow_terminal_folds_rather_than_cuts(capsys, monkeypatch):
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich: stdout is a terminal
    monkeypatch.setenv("COLUMNS", "36")
    code, out, _ = run(capsys, "bound", "--seed-table")
    lines = out.splitlines()
    assert code == 0 and max(len(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in lines) <= 36
    assert "…" not in out and "e+1" in out  # 2.119e+10 folded, its exponent kept


def test_argparse_errors_say_mcirl_once(capsys):
    """`--repz 10` printed "mcirl: error: mcirl: unrecognized arguments" (issue 32)."""
    for argv in (["estimate", "--m", "4", "--repz", "10"], ["estimate"], ["nope"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("mcirl: error: ") and err.count("mcirl:") == 1 and err.count("\n") == 1, err


def _options(parser, name="mcirl"):
    """(command, action) for every option of every (sub)command."""
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _options(sub, f"{name} {sub_name}")
        elif action.option_strings and action.dest != "help" and not isinstance(action, argparse._VersionAction):
            yield name, action


def test_every_option_has_help_and_its_help_shows_its_default():
    from mcirl.cli import build_parser
    from mcirl.cli.common import HelpFormatter

    formatter = HelpFormatter("mcirl")
    for command, action in _options(build_parser()):
        text = formatter._get_help_string(action)
        assert action.help, (command, action.option_strings)
        if action.default not in (None, False) and action.nargs != 0:
            assert "default" in text, (command, action.option_strings, text)


@pytest.mark.parametrize("argv, needle", [
    (["estimate", "--repz", "10", "--m", "1"], "unrecognized arguments: --repz 10; did you mean --reps?"),
    (["estimate", "--rep", "10", "--m", "1"], "unrecognized arguments: --rep 10; did you mean --reps?"),
    (["estimate", "--m", "bund"], "not a whole number or 'bound': 'bund'; did you mean bound?"),
    (["estimate", "--m", "1", "--algorithm", "projecton"], "did you mean projection?"),
    (["results", "shw"], "did you mean show?"),
    (["bund"], "did you mean bound?"),
])
def test_options_are_never_abbreviated_and_near_misses_get_a_suggestion(capsys, argv, needle):
    code, _, err = run(capsys, *argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    assert err.count("mcirl") == 1


def test_each_results_action_has_its_own_help(capsys):
    helps = {}
    for action in ("list", "show", "export", "merge"):
        with pytest.raises(SystemExit):
            main(["results", action, "--help"])
        helps[action] = capsys.readouterr().out
    assert "--format" in helps["export"] and "--format" not in helps["show"]
    assert "--from" in helps["merge"] and "--estimates" in helps["show"] and "--from" not in helps["list"]


def test_progress_shows_no_remaining_time_it_cannot_know(monkeypatch):
    """Issue 32: 'learn 673/800 0:00:02 left' was followed by 30 s more (rows finish unevenly),
    and a sweep's task total grew as bisection submitted tasks (24 -> 75)."""
    from rich.progress import Progress

    from mcirl.cli.common import HonestTimeRemaining
    from mcirl.cli.sweep import _sweep_progress

    with Progress(HonestTimeRemaining(), transient=True, disable=True) as bar:
        learn = bar.add_task("learn", total=10, uneven=True, completed=5)
        sample = bar.add_task("sample", total=10, completed=5)
        column = HonestTimeRemaining()
        assert str(column.render(bar.tasks[learn])) == ""
        assert str(column.render(bar.tasks[sample])) != ""
    with _sweep_progress(True) as update:
        update("start", cells=2, searches=4)
        update("task", done=1, submitted=3, steps=1e6, cached=0, computed=True)
        update("search", done=1, total=4, cell=None, criterion="theorem", result=None)


def test_verify_and_explain_dry_runs_plan_and_estimate_without_working(capsys, tmp_path, monkeypatch):
    """Issue 32: every long command has --dry-run with an estimated time."""
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "verify", "1/(eps*(1-gamma))", "--examples", "7", "--reps", "20", "--dry-run",
                       "--json")
    plan = json.loads(out)
    assert code == 0 and plan["examples"] == 7 and plan["m_at_costliest"] >= 1
    assert plan["estimated_seconds_at_most"] == pytest.approx(7 * plan["calibration_seconds"])
    assert "S=32 A=4 b=4 k=8" in plan["costliest_cell"]  # the expensive end of the default ranges
    config = tmp_path / "tiny.toml"
    from tests.sweep.configs import tiny_sweep

    config.write_text(tiny_sweep(k=(2, 3)))
    code, out, _ = run(capsys, "explain", "--config", str(config), "--dry-run", "--draws", "500", "--json")
    plan = json.loads(out)
    assert code == 0 and plan["cells"] == 2 and plan["instances"] == 4 and plan["costliest"].startswith("k=3")
    code, out, _ = run(capsys, "explain", "--config", str(config), "--dry-run", "--no-calibrate", "--json")
    assert "estimated_seconds_at_most" not in json.loads(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.toml"]  # nothing written
    code, _, err = run(capsys, "explain", "--S", "16", "--dry-run")
    assert code == 2 and "--dry-run: goes with --config or --db" in err


def test_errors_raised_below_the_cli_name_the_flag_there_and_the_parameter_in_python(capsys, tmp_path,
                                                                                     monkeypatch):
    """Modules below the CLI name parameters (max_horizon); the CLI shows them as its flags, in
    the field and in the message, for nested subcommands too, and leaves other words alone."""
    from mcirl.errors import InputError
    from mcirl.sample import check_law

    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as raised:
        check_law(2, 0.9999999, 0.1, "truncated", 10)
    assert str(raised.value).startswith("gamma: implies") and "(max_horizon raises the limit)" in str(raised.value)
    assert "--" not in str(raised.value)
    assert main(["estimate", *TINY, "--m", "4", "--gamma", "0.9999999", "--max-horizon", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mcirl: error: --gamma: implies") and "(--max-horizon raises the limit)" in err
    assert main(["results", "merge", "--from", "missing.sqlite", "--db", "x.sqlite"]) == 2
    assert capsys.readouterr().err.startswith("mcirl: error: --from: no such results database")
    assert list(tmp_path.iterdir()) == []
    error = InputError("eps", "`eps` and `not_an_option` and `m`", 1)
    assert error.text({"eps": "--eps", "m": "--m"}.get) == "--eps: --eps and not_an_option and --m (got 1)"


def test_ctrl_c_while_the_command_line_loads_is_one_line(monkeypatch, capsys):
    """The console script (pyproject.toml) catches a Ctrl-C that lands while it imports the
    command line (the first ~0.3 s), which used to print a traceback."""
    import builtins

    from mcirl import console

    real = builtins.__import__

    def interrupted(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "cli" and level == 1:
            raise KeyboardInterrupt
        return real(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert console.main() == 130
    assert capsys.readouterr().err == "mcirl: interrupted\n"


def test_an_interrupted_sweep_names_the_command_that_resumes_it_and_a_finished_one_says_so(
        tmp_path, capsys, monkeypatch):
    from tests.sweep.configs import tiny_sweep

    config = tmp_path / "tiny.toml"
    config.write_text(tiny_sweep(k=(2,)))
    db = tmp_path / "r.sqlite"
    assert main(["sweep", str(config), "--db", str(db), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sweep", str(config), "--db", str(db)]) == 2
    assert "finished (run resume-test" in capsys.readouterr().err
    import mcirl.sweep.runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mcirl.sweep.runner, "drive_sweep", interrupted)
    assert main(["sweep", str(config), "--db", str(db), "--resume", "--quiet"]) == 130
    assert capsys.readouterr().err.endswith(
        f"mcirl: interrupted; `mcirl sweep {config} --db {db} --resume --quiet` continues it\n")
