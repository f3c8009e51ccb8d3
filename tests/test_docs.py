"""The documentation's code runs: docs/python.md top to bottom, as a reader would."""

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[1] / "docs"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)


@pytest.mark.slow
def test_the_python_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(DOCS / "python.md")
    assert len(blocks) >= 6
    namespace = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/python.md block {i + 1}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "64 4 16 0.95" in out and "w: " in out
    assert namespace["frames"]["curves"].shape[0] > 0 and namespace["result"].rows[-1].m == 256


def test_the_api_reference_documents_every_public_name_under_the_name_users_import():
    """docs/api.md has one block per name of mcirl.__all__, headed ``mcirl.NAME`` and pointing
    at the object that name is (so ``mcirl.run_learner`` documents mcirl.learn.learn); the two
    tuples of names are described in its text."""
    import inspect

    import mcirl

    text = (DOCS / "api.md").read_text()
    blocks = dict((heading, target) for target, heading in
                  re.findall(r"^::: (\S+)\n    options:\n      heading: \"mcirl\.(\w+)\"", text, flags=re.M))
    for name in mcirl.__all__:
        obj = getattr(mcirl, name)
        if name == "__version__":
            continue
        if isinstance(obj, tuple):
            assert f"`mcirl.{name}`" in text, name
            continue
        assert name in blocks, f"mcirl.{name} is not in docs/api.md"
        assert blocks[name] == (obj.__name__ if inspect.ismodule(obj)
                                else f"{obj.__module__}.{obj.__qualname__}"), name
    assert set(blocks) <= set(mcirl.__all__)
