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
