"""Every config boundary turns any value into a config or an InputError, never another
exception: odd values (huge, negative, NaN, inf, wrong types) in any subset of the fields.
This is what the CLI's one-line errors rest on (found by fuzzing the commands: 1e30 replicates
was an OverflowError inside the sampler, S = 1e9 a NumPy allocation error)."""

import json
from dataclasses import asdict, fields

from hypothesis import given, settings
from hypothesis import strategies as st

from mcirl.elbow.experiment import ElbowConfig, elbow_config
from mcirl.errors import M_MAX, TABLE_MAX, InputError
from mcirl.estimate import EstimateConfig
from mcirl.mdp import FamilySpec
from mcirl.sweep.config import SECTIONS, TOP_LEVEL, config_from_dict

ODD = st.one_of(
    st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 2, -1, 2**31 - 1, 2**31, 2**63, 10**30, 1e-300, "", "abc", "bound",
                     "bound*1e20", True, None, [], [0], [2], [1e30], ["x"], {"a": 1}]),
)


def odd_fields(names):
    return st.dictionaries(st.sampled_from(sorted(names)), ODD, max_size=4)


def accepts_or_input_error(build):
    try:
        return build()
    except InputError:
        return None


@settings(max_examples=300)
@given(odd_fields([f.name for f in fields(FamilySpec)]))
def test_family_specs(values):
    spec = accepts_or_input_error(lambda: FamilySpec(**values))
    if spec is not None:  # what passes fits the limits an MDP draw relies on
        assert spec.S * spec.k <= TABLE_MAX and 1 <= spec.S <= 2**31 - 1


@settings(max_examples=300)
@given(odd_fields([f.name for f in fields(EstimateConfig)]))
def test_estimate_configs(values):
    config = accepts_or_input_error(lambda: EstimateConfig(**{"m": (4,), **values}))
    if config is not None:  # what passes is what the estimate relies on
        assert list(config.m) == sorted(set(config.m)) and 1 <= config.m[0] <= M_MAX
        assert config.reps >= 1 and config.max_iter >= 1 and config.max_horizon >= 1
        assert 0 < config.eps < float("inf") and 0 < config.delta < 1
        assert config.certificate in ("on", "failure", "off") and config.backend == "cpu"
        assert set(config.learn) <= set(config.m)


@settings(max_examples=300)
@given(odd_fields([f.name for f in fields(ElbowConfig)]))
def test_elbow_configs(values):
    config = accepts_or_input_error(lambda: elbow_config(values))
    if config is not None:  # validated once is validated: the accepted values pass again
        assert elbow_config(asdict(config)) == config


@settings(max_examples=300)
@given(odd_fields(TOP_LEVEL), st.sampled_from(sorted(SECTIONS)), st.data())
def test_sweep_configs(top, section, data):
    keys = [f.name for f in fields(SECTIONS[section])]
    table = data.draw(st.one_of(odd_fields(keys), ODD))
    config = accepts_or_input_error(lambda: config_from_dict({**top, section: table}))
    if config is not None:  # the stored form (JSON in the runs table) reads back as the same run
        again = config_from_dict(json.loads(json.dumps(config.as_dict())))
        assert again.run_id == config.run_id and again.instances.count >= 1


@settings(max_examples=200)
@given(odd_fields(TOP_LEVEL), st.sampled_from(sorted(SECTIONS)), st.data())
def test_accepted_sweep_configs_plan_within_the_task_cap_or_say_why(top, section, data):
    """An accepted config is planned (cells, grids, tasks) or refused by the limits with an
    InputError, before any work: never a MemoryError from 10^30 instances' task objects."""
    from mcirl.errors import TASKS_MAX
    from mcirl.sweep.plan import cells, check_limits, rep_blocks

    keys = [f.name for f in fields(SECTIONS[section])]
    config = accepts_or_input_error(lambda: config_from_dict({**top, section: data.draw(odd_fields(keys))}))
    if config is None:
        return
    planned = accepts_or_input_error(lambda: cells(config))
    if planned is not None and accepts_or_input_error(lambda: check_limits(config, planned) or True):
        assert len(planned) * config.instances.count * len(rep_blocks(config)) <= TASKS_MAX


@settings(max_examples=60)
@given(st.integers(0, 3000), st.sampled_from(["[", "[{a = "]))
def test_toml_nested_any_depth_is_a_config_or_one_line_error(tmp_path_factory, depth, opener):
    """tomllib parses nested arrays and tables recursively: a file nested thousands deep was a
    RecursionError; it is an InputError naming the file."""
    from mcirl.provenance import read_toml

    closer = "]" if opener == "[" else "}]"
    path = tmp_path_factory.mktemp("toml") / "deep.toml"
    path.write_text(f"name = \"deep\"\nvalue = {opener * depth}1{closer * depth}\n")
    data = accepts_or_input_error(lambda: read_toml(path))
    if data is not None:
        assert accepts_or_input_error(lambda: config_from_dict(data)) is None  # 'value' is no key
