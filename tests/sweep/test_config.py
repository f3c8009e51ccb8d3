from pathlib import Path

import pytest

from mcirl.errors import InputError
from mcirl.sweep.config import SweepConfig, config_from_dict, load_config
from mcirl.sweep.plan import cells

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path):
    config = load_config(path)
    assert cells(config)


def test_defaults_and_run_id_is_a_content_hash():
    a = config_from_dict({"cells": {"k": [2, 5]}})
    b = config_from_dict({"cells": {"k": [2, 5]}})
    c = config_from_dict({"cells": {"k": [2, 6]}})
    assert a == b and a.run_id == b.run_id != c.run_id
    assert isinstance(a, SweepConfig) and a.cells.k == (2, 5)
    assert config_from_dict({"cells": {"gamma": 0.9}}).cells.gamma == (0.9,)  # scalar = list of one


def test_ids_from_before_lengths_existed_are_kept():
    """Run, cell and task ids of examples/tiny.toml as mcirl computed them at commit 4592c66,
    before trajectory lengths were a cell property and with the learner as it was then (line
    step, no certificate): stored sweeps still resume and reuse."""
    from dataclasses import replace

    from mcirl.sweep.plan import iter_tasks
    from mcirl.sweep.runner import grid_for

    default = load_config(EXAMPLES[0].parent / "tiny.toml")
    config = default.with_learner("line", "off")
    config = replace(config, search=replace(config.search, sequential=False))  # as then
    assert default.run_id != config.run_id  # today's learner is another run, with other cells
    assert not {c.cell_id for c in cells(default)} & {c.cell_id for c in cells(config)}
    assert replace(config, cells=replace(config.cells, certificate="auto")).run_id == config.run_id  # off
    tiny = cells(config)
    assert config.run_id == "9936aef2646a62cd7aea0eaa89d09db7"
    assert [c.cell_id for c in tiny] == ["0e49b536983aebdfeb0b2b6e51bb0463",
                                    "2f4b363dd4a80736e5cf338e7b2ff7c8"]
    assert next(iter_tasks(config, tiny[0], grid_for(config, tiny[0]))).key == \
        "0639f4b3a7fd2742beba21bd2f196c41"


def test_lengths_are_a_dimension_of_the_cell_grid():
    plain = config_from_dict({"cells": {"k": [2, 5], "gamma": [0.9]}})
    both = config_from_dict({"cells": {"k": [2, 5], "gamma": [0.9],
                                       "lengths": ["truncated", "geometric"]}})
    assert plain.run_id == config_from_dict({"cells": {"k": [2, 5], "gamma": [0.9],
                                                       "lengths": "truncated"}}).run_id
    assert plain.run_id != both.run_id
    truncated = [c for c in cells(both) if c.lengths == "truncated"]
    geometric = [c for c in cells(both) if c.lengths == "geometric"]
    assert [c.cell_id for c in truncated] == [c.cell_id for c in cells(plain)]
    assert len(geometric) == 2 and not {c.cell_id for c in geometric} & {c.cell_id for c in truncated}
    assert geometric[0].horizon is None and geometric[0].mean_length == pytest.approx(10.0)
    assert truncated[0].mean_length == truncated[0].horizon > 10


def test_grid_and_cap():
    s = config_from_dict({"search": {"m_min": 2, "factor": 3, "cap": "bound*2"}}).search
    assert s.cap_for(100.2) == 201
    assert s.grid(201) == [2, 6, 18, 54, 162, 201]
    assert config_from_dict({"search": {"cap": 500}}).search.cap_for(1e9) == 500


BAD = [
    ({"foo": 1}, "q.toml: foo", "unknown key"),
    ({"search": {"bisekt": 2}}, "q.toml: search.bisekt", "unknown key"),
    ({"cells": {"k": [2.5]}}, "q.toml: cells.k", "integer"),
    ({"cells": {"k": [0]}}, "q.toml: cells.k", "in [1, 2^31 - 1]"),
    ({"cells": {"gamma": [1.0]}}, "q.toml: cells.gamma", "[0, 1)"),
    ({"cells": {"eps": 0}}, "q.toml: cells.eps", "(0, inf)"),
    ({"cells": {"delta": 2}}, "q.toml: cells.delta", "(0, 1)"),
    ({"cells": {"features": ["fancy"]}}, "q.toml: cells.features", "onehot"),
    ({"cells": {"k": []}}, "q.toml: cells.k", "at least one"),
    ({"instances": {"count": "4"}}, "q.toml: instances.count", "integer"),
    ({"instances": {"reps": 0}}, "q.toml: instances.reps", "in [1, 2^31 - 1]"),
    ({"search": {"factor": 1}}, "q.toml: search.factor", "(1, inf)"),
    ({"search": {"cap": "lots"}}, "q.toml: search.cap", "bound"),
    ({"search": {"sampler": "magic"}}, "q.toml: search.sampler", "counts"),
    ({"mdp": {"family": "maze"}}, "q.toml: mdp.family", "garnet"),
    ({"mdp": {"S": True}}, "q.toml: mdp.S", "integer"),
    ({"mdp": 3}, "q.toml: mdp", "table"),
    ({"seed": -1}, "q.toml: seed", "in [0, 2^63 - 1]"),
    ({"backend": "tpu"}, "q.toml: backend", "cpu"),
    ({"seed": 2**63}, "q.toml: seed", "in [0, 2^63 - 1]"),
    ({"instances": {"reps": 2**31}}, "q.toml: instances.reps", "in [1, 2^31 - 1]"),
    ({"search": {"m_min": 10**16}}, "q.toml: search.m_min", "in [1, 1e15]"),
    ({"search": {"cap": 10**16}}, "q.toml: search.cap", "at most 1e15"),
    ({"search": {"cap": "bound*1e20"}}, "q.toml: search.cap", "at most 1e15"),
    ({"cells": {"lengths": ["long"]}}, "q.toml: cells.lengths", "truncated, geometric"),
    ({"cells": {"lengths": []}}, "q.toml: cells.lengths", "at least one"),
    ({"cells": {"projection_step": "diagonal"}}, "q.toml: cells.projection_step", "segment, line"),
    ({"cells": {"certificate": "yes"}}, "q.toml: cells.certificate", "on, failure, off"),
    ({"search": {"sequential": "yes"}}, "q.toml: search.sequential", "must be true or false"),
    ({"search": {"sequential": 1}}, "q.toml: search.sequential", "must be true or false"),
    ({"cells": {"certificate": "on", "projection_step": "line"}}, "q.toml: cells.certificate",
     "must be off with the line projection step"),
    ({"cells": {"certificate": "failure", "projection_step": "line"}}, "q.toml: cells.certificate",
     "must be off with the line projection step"),
    ({"cells": {"lengths": ["truncated", "geometric"], "gamma": [0.9, 0.9999999]}},
     "q.toml: cells.gamma", "[0, 0.999999]"),
]


@pytest.mark.parametrize("data, field, needle", BAD)
def test_bad_configs_name_file_and_key(data, field, needle):
    with pytest.raises(InputError) as info:
        config_from_dict(data, "q.toml")
    assert info.value.field == field and needle in str(info.value)


def test_cells_are_validated_against_the_family():
    config = config_from_dict({"mdp": {"S": 8}, "cells": {"k": [4, 16]}}, "q.toml")
    with pytest.raises(InputError, match="S >= k"):
        cells(config)
    ok = config_from_dict({"mdp": {"S": 8, "S_per_k": 1}, "cells": {"k": [4, 16]}})
    assert [c.family.S for c in cells(ok)] == [8, 16]


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("name = 'x'\n[cells\nk = 3\n")
    with pytest.raises(InputError, match="broken.toml: not valid TOML"):
        load_config(bad)
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "absent.toml")


def test_every_algorithm_is_a_valid_cell():
    config = config_from_dict({"cells": {"algorithms": ["projection", "max-margin", "mwal", "lpal"]}})
    assert {c.algorithm for c in cells(config)} == {"projection", "max-margin", "mwal", "lpal"}


def test_a_deeply_nested_config_is_one_line(tmp_path, capsys):
    from mcirl.cli import main

    path = tmp_path / "deep.toml"
    path.write_text('name = "x"\n[cells]\nk = ' + "[" * 5000 + "1" + "]" * 5000 + "\n")
    assert main(["sweep", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is nested too deeply" in err


def test_a_grid_factor_near_one_is_refused_before_planning(tmp_path, capsys):
    """factor = 1.0000001 planned 3,506 grid points for 57 s before; now it is refused from
    the count of points, before any grid is built."""
    from mcirl.cli import main

    path = tmp_path / "f.toml"
    path.write_text('name = "x"\n[search]\nfactor = 1.0000001\n')
    assert main(["sweep", str(path), "--dry-run", "--no-calibrate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "search.factor: must give at most 1000 grid points" in err
    path.write_text('name = "x"\n[search]\nfactor = 1.1\ncap = 1000000\n')  # 145 steps: fine
    assert len(load_config(path).search.grid(10**6)) == 131  # the rounded small m merge


def test_eps_and_delta_are_grid_dimensions_and_one_value_keeps_the_run_id():
    """Issue 51, item 2: `eps = [0.05, 0.1, 0.2]` is three cells (it was refused: 'must be a
    number'); a config giving one value has the run id it had when they were scalars."""
    from mcirl.sweep.config import config_from_dict

    grid = config_from_dict({"cells": {"eps": [0.05, 0.1, 0.2], "delta": [0.05, 0.1]}})
    got = sorted((c.eps, c.delta) for c in cells(grid))
    assert got == sorted((e, d) for e in (0.05, 0.1, 0.2) for d in (0.05, 0.1))
    assert len({c.cell_id for c in cells(grid)}) == 6
    assert config_from_dict({}).run_id == "b77203e8f94d0b7d26fc809b1a5f40e5"  # as before the lists
    assert config_from_dict({"cells": {"eps": [0.1]}}).run_id == config_from_dict({}).run_id
    for bad, where in (({"eps": []}, "cells.eps"), ({"delta": [0.05, 1.5]}, "cells.delta")):
        with pytest.raises(InputError, match=where):
            config_from_dict({"cells": bad})


def test_the_reward_rank_reaches_the_sweep_from_familyspec_alone():
    """[mdp] reward_rank exists because FamilySpec has it (the section is built from its fields);
    at 0 a config keeps its run id, and a rank above a cell's k is refused naming the cell."""
    config = config_from_dict({"mdp": {"reward_rank": 2}, "cells": {"k": [4, 8]}})
    assert [c.family.reward_rank for c in cells(config)] == [2, 2]
    assert config.run_id != config_from_dict({"cells": {"k": [4, 8]}}).run_id
    assert config_from_dict({"mdp": {"reward_rank": 0}}).run_id == "b77203e8f94d0b7d26fc809b1a5f40e5"
    with pytest.raises(InputError, match="cell .*k=2.*reward_rank"):
        cells(config_from_dict({"mdp": {"reward_rank": 3}, "cells": {"k": [2, 8]}}))
