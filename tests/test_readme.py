"""Every documented example's output is what the command prints today (tests/readme.py)."""

import pytest

from tests import readme


@pytest.mark.slow
def test_every_documented_example_matches_its_output():
    problems = readme.check()
    assert not problems, "\n\n".join(problems) + "\n\nrun: python -m tests.readme --update"
    assert sum(len(readme.examples(page)) for page in readme.pages()) >= 5


def test_a_changed_output_is_caught_and_masked_noise_is_not(tmp_path):
    page = tmp_path / "page.md"
    good = "\n".join(["<!-- example -->", "```", "$ mcirl bound --k 10 --gamma 0.9 --json | grep abbeel",
                      '    "m_abbeel-ng": 1198292.9094215967,', "```", ""])
    page.write_text(good)
    assert readme.check(where=[page]) == []
    page.write_text(good.replace("1198292.909", "1198292.919"))  # beyond 6 significant digits
    assert readme.check(where=[page]) == []
    page.write_text(good.replace("1198292", "1199292"))  # a real change
    (problem,) = readme.check(where=[page])
    assert '-    "m_abbeel-ng": 1.19929e+06' in problem and '+    "m_abbeel-ng": 1.19829e+06' in problem
    assert readme.masked(["took 12.5 s", '"learn": 0.48,'], tmp_path) == ["took <t> s", '"learn": <t>,']
