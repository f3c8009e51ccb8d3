"""The one error type for bad user input.

Every public entry point validates its arguments and raises :class:`InputError` naming the field,
what is allowed and what it got. The CLI prints ``error: <message>`` on one line and exits 2.
"""

from __future__ import annotations

import math
import re

_MISSING = object()

#: Largest count that sizes an array or a launch (states, actions, features, replicates,
#: iterations, items): CUDA grids and int32 indices stop at 2^31 - 1, and a NumPy dimension
#: beyond it could not be allocated anyway.
SIZE_MAX = 2**31 - 1
#: Largest seed: seeds travel to the kernels as int64.
SEED_MAX = 2**63 - 1
#: The largest m any sampler accepts (int64 counts with room to spare).
M_MAX = 10**15
#: Most entries one array of the problem may hold (an MDP's transition table or features, the
#: elbow experiment's item features): 2^32 float64 entries are 32 GiB, beyond any one machine's
#: or GPU's memory this suite targets.
TABLE_MAX = 2**32
#: Most steps of a truncated expert trajectory (the horizon H a gamma implies; raised by
#: max_horizon): H = 10^6 is gamma ~ 0.99998 at k = 16, eps = 0.1.
HORIZON_MAX = 10**6
#: Most tasks a sweep may plan for its grids (cells x instances x replicate blocks; raised by
#: max_tasks): each is at least one learner batch, and a count of 2^31 - 1 instances would
#: fill memory with task objects before any work.
TASKS_MAX = 10**6


class InputError(ValueError):
    """Bad input: ``field`` is what was wrong, ``allowed`` says what would be accepted.

    Fields and other parameters a message points to are named as the Python API and the
    configs name them (``max_horizon``; in ``allowed``, between backticks: "`max_horizon`
    raises the limit"); the CLI shows each as its flag (:meth:`text`), so no module below the
    CLI spells a flag."""

    def __init__(self, field: str, allowed: str, got: object = _MISSING):
        self.field = field
        self.allowed = allowed
        self.got = got
        super().__init__(self.text())

    def text(self, spell=lambda name: None) -> str:
        """The message, with the field and every `name` in it as spell(name) where that is not
        None (the CLI: the flag of an option), else as the bare name."""
        def named(match):
            return spell(match.group(1)) or match.group(1)

        shown = "" if self.got is _MISSING else f" (got {self.got!r})"
        return f"{spell(self.field) or self.field}: {_NAMED.sub(named, self.allowed)}{shown}"


_NAMED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")


def show_limit(n: int) -> str:
    """A limit as a reader knows it: 2^31 - 1, 1e15, else the digits."""
    if n >= 2**20 and (n + 1) & n == 0:
        return f"2^{n.bit_length()} - 1"
    digits = str(n)
    if n >= 10**6 and digits.strip("0") == "1":
        return f"1e{len(digits) - 1}"
    return digits


def check_horizon(horizon: int, limit: int, gamma: float, k: int, eps: float) -> int:
    """Refuse a truncation horizon above ``limit`` steps, naming the gamma behind it."""
    if horizon > limit:
        raise InputError("gamma", f"implies a horizon H = {horizon:,} steps (k = {k}, eps = "
                         f"{eps:g}); at most {limit:,} (`max_horizon` raises the limit)", gamma)
    return horizon


def check_choice(field: str, value: object, allowed) -> object:
    """``value`` if it is one of ``allowed`` (a tuple of names), else the usual error listing
    them: the one "must be one of" rule of every option with named choices."""
    if not isinstance(value, (str, int, float)) or value not in allowed:
        raise InputError(field, f"must be one of {', '.join(map(str, allowed))}", value)
    return value


def check_int(field: str, value: object, low: int, high: int | None = SIZE_MAX) -> int:
    """``value`` as an int in [low, high] (high=None: no upper limit)."""
    ok = isinstance(value, (int,)) and not isinstance(value, bool)
    if not ok and hasattr(value, "__index__"):
        value, ok = int(value), True  # numpy integers
    if not ok or value < low or (high is not None and value > high):
        where = f">= {low}" if high is None else f"in [{low}, {show_limit(high)}]"
        raise InputError(field, f"must be an integer {where}", value)
    return int(value)


def check_real(field: str, value: object, low: float, high: float,
               low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float in the interval given by low/high and the open flags."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        x = math.nan
    inside = math.isfinite(x) and (x > low if low_open else x >= low) and (
        x < high if high_open else x <= high)
    if not inside:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise InputError(field, f"must be a finite number in {interval}", value)
    return x
