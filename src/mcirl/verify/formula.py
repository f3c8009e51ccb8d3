"""Bound formulas in k, gamma, eps, delta, S, A, b, parsed by a whitelisted grammar.

A formula is a Python-syntax arithmetic expression: numbers, the variables above, + - * / **,
unary minus, parentheses and the functions in FUNCTIONS. It is parsed with :mod:`ast` and
evaluated by walking the tree: no name lookup outside the whitelist, no attribute access, no
subscripts, no other calls, never :func:`eval`. Named bounds of :mod:`mcirl.bounds` are
accepted too.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass

import numpy as np

from .. import bounds
from ..errors import InputError

VARIABLES = ("k", "gamma", "eps", "delta", "S", "A", "b")
FUNCTIONS = {"log": np.log, "ln": np.log, "log2": np.log2, "log10": np.log10, "exp": np.exp,
             "sqrt": np.sqrt, "ceil": np.ceil, "floor": np.floor, "abs": np.abs,
             "min": np.minimum, "max": np.maximum}
#: How many arguments each function takes (NumPy's would read a third as an output array).
ARITY = {name: 2 if name in ("min", "max") else 1 for name in FUNCTIONS}
CONSTANTS = {"pi": math.pi, "e": math.e}
#: The largest magnitude of a number in a formula: beyond it float64 overflows.
MAX_LITERAL = 1e300
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
MAX_LENGTH = 500


def _reject(node) -> str:
    if isinstance(node, ast.Attribute):
        return "attribute access is not allowed"
    if isinstance(node, ast.Subscript):
        return "subscripts are not allowed"
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp)):
        return "lambdas and comprehensions are not allowed"
    if isinstance(node, ast.Compare):
        return "comparisons are not allowed"
    return f"{type(node).__name__} expressions are not allowed"


def _check(node) -> None:
    """Raise ValueError (the message) unless every node is whitelisted."""
    if isinstance(node, ast.Expression):
        return _check(node.body)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"only numbers may appear as constants (got {node.value!r})")
        if not abs(node.value) <= MAX_LITERAL:  # an int too long for a float, or inf
            raise ValueError(f"numbers must be at most {MAX_LITERAL:g} in magnitude")
        return None
    if isinstance(node, ast.Name):
        if node.id not in VARIABLES and node.id not in CONSTANTS:
            raise ValueError(f"unknown name {node.id!r} (allowed: {', '.join(VARIABLES)}, "
                             f"{', '.join(CONSTANTS)} and the functions {', '.join(FUNCTIONS)})")
        return None
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed (use + - * / **)")
        _check(node.left)
        return _check(node.right)
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed")
        return _check(node.operand)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ValueError(_reject(node.func))
        if node.func.id not in FUNCTIONS:
            raise ValueError(f"calling {node.func.id!r} is not allowed "
                             f"(functions: {', '.join(FUNCTIONS)})")
        if node.keywords:
            raise ValueError("keyword arguments are not allowed")
        if len(node.args) != ARITY[node.func.id]:
            raise ValueError(f"{node.func.id}() takes {ARITY[node.func.id]} argument"
                             f"{'s' if ARITY[node.func.id] > 1 else ''} (got {len(node.args)})")
        for arg in node.args:
            _check(arg)
        return None
    raise ValueError(_reject(node))


def _evaluate(node, env):
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, env)
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return env[node.id] if node.id in env else np.float64(CONSTANTS[node.id])
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, env), _evaluate(node.right, env))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, env))
    return FUNCTIONS[node.func.id](*[_evaluate(a, env) for a in node.args])


@dataclass(frozen=True)
class Bound:
    """A sample-size bound m(k, gamma, eps, delta, S, A, b): a named one or a formula."""

    text: str
    tree: object = None  #: the checked AST of a formula (None for a named bound)

    @property
    def name(self) -> str:
        return self.text

    def __call__(self, k, gamma, eps, delta, S=1, A=1, b=1):
        env = {name: np.asarray(v, dtype=np.float64) for name, v in
               zip(VARIABLES, (k, gamma, eps, delta, S, A, b))}
        if self.tree is None:
            function = bounds.BOUNDS[self.text][0]
            return function(env["k"], env["gamma"], env["eps"], env["delta"])
        with np.errstate(all="ignore"):
            return np.broadcast_to(_evaluate(self.tree, env), np.broadcast(*env.values()).shape) * 1.0


def parse_bound(text: str) -> Bound:
    """A named bound (mcirl.bounds.BOUNDS) or a safe formula; InputError names the problem."""
    if not isinstance(text, str) or not text.strip():
        raise InputError("bound", "give a bound name or a formula in k, gamma, eps, delta, S, A, b")
    text = text.strip()
    if text in bounds.BOUNDS:
        return Bound(text)
    if len(text) > MAX_LENGTH:
        raise InputError("bound", f"formula longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise InputError("bound", f"malformed formula: {exc.msg} at column {exc.offset}", text) from None
    try:
        _check(tree)
    except ValueError as exc:
        raise InputError("bound", str(exc), text) from None
    return Bound(text, tree)
