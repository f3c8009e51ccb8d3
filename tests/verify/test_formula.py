import math

import numpy as np
import pytest

from mcirl import bounds
from mcirl.cli import main
from mcirl.errors import InputError
from mcirl.verify.formula import parse_bound


def test_formulas_evaluate_like_python_math():
    b = parse_bound("8*log(2/delta)/(eps*(1-gamma))**2")
    assert b(10, 0.9, 0.1, 0.05) == pytest.approx(8 * math.log(40) / 1e-4)
    assert parse_bound("k * S + A - b / 2 + sqrt(4) + max(1, 2) + -k")(3, 0.5, 1, 0.1, 5, 2, 4) == \
        pytest.approx(3 * 5 + 2 - 2 + 2 + 2 - 3)
    assert parse_bound("2**3 + pi - e + ln(exp(1))")(1, 0, 1, 0.1) == pytest.approx(8 + math.pi - math.e + 1)
    np.testing.assert_allclose(parse_bound("k")([1, 2, 3], 0.5, 1, 0.1), [1, 2, 3])


def test_named_bounds_are_the_package_bounds():
    for name, (function, _, _) in bounds.BOUNDS.items():
        assert parse_bound(name)(10, 0.9, 0.1, 0.05) == pytest.approx(function(10, 0.9, 0.1, 0.05))


@pytest.mark.parametrize("text, problem", [
    ("__import__('os').system('ls')", "attribute access"),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("k.real", "attribute access"),
    ("(1).__class__", "attribute access"),
    ("foo + 1", "unknown name 'foo'"),
    ("open('x')", "calling 'open'"),
    ("k[0]", "subscripts"),
    ("lambda: 1", "lambdas"),
    ("[x for x in (1,)]", "comprehensions"),
    ("k if k else 1", "IfExp"),
    ("k < 1", "comparisons"),
    ("'text'", "only numbers"),
    ("k % 2", "operator Mod"),
    ("log(x=1)", "keyword arguments"),
    ("1 +", "malformed formula"),
    ("", "give a bound"),
    ("k" * 600, "longer than"),
    ("max(k)", "max() takes 2 arguments (got 1)"),
    ("min()", "min() takes 2 arguments (got 0)"),
    ("log()", "log() takes 1 argument (got 0)"),
    ("log(k, 2)", "log() takes 1 argument (got 2)"),
    ("max(k, 1, 2)", "max() takes 2 arguments (got 3)"),
    ("exp(k, k, k)", "exp() takes 1 argument (got 3)"),
    ("1" * 499, "numbers must be at most 1e+300"),
    ("1e400 * k", "numbers must be at most"),
])
def test_unsafe_or_malformed_formulas(text, problem):
    with pytest.raises(InputError) as info:
        parse_bound(text)
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_cli_rejects_unsafe_formulas_in_one_line(capsys):
    assert main(["verify", "__import__('os').system('true')"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("mcirl: error: bound:")


@pytest.mark.parametrize("formula, shown", [("0", "it is 0 at"), ("-1", "it is -1 at"),
                                            ("0 - k", "it is -"), ("exp(1000) * k", "it is inf at"),
                                            ("log(k - k)", "it is -inf at"), ("1e16", "it is 1e+16")])
def test_a_bound_that_is_no_positive_count_is_refused_not_clamped(capsys, tmp_path, formula, shown):
    """Before: 0, -1 and -k ran as m = 1, an infinite bound as m = 1e15, and the search
    reported 'no counterexample' for bounds it never tested."""
    assert main(["verify", formula, "--examples", "1", "--reps", "2", "--quiet", "--out",
                 str(tmp_path / "verify")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bound: must be a number of trajectories in (0, 1e15]" in err
    assert shown in err
