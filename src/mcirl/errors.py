"""The one error type for bad user input.

Every public entry point validates its arguments and raises :class:`InputError` naming the field,
what is allowed and what it got. The CLI prints ``error: <message>`` on one line and exits 2.
"""

from __future__ import annotations

import math

_MISSING = object()


class InputError(ValueError):
    """Bad input: ``field`` is what was wrong, ``allowed`` says what would be accepted."""

    def __init__(self, field: str, allowed: str, got: object = _MISSING):
        self.field = field
        self.allowed = allowed
        self.got = got
        shown = "" if got is _MISSING else f" (got {got!r})"
        super().__init__(f"{field}: {allowed}{shown}")


def check_int(field: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an int in [low, high] (high=None: no upper limit)."""
    ok = isinstance(value, (int,)) and not isinstance(value, bool)
    if not ok and hasattr(value, "__index__"):
        value, ok = int(value), True  # numpy integers
    if not ok or value < low or (high is not None and value > high):
        where = f">= {low}" if high is None else f"in [{low}, {high}]"
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
