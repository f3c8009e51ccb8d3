"""What every command shares: argparse with one-line errors, argument types, JSON output,
number formatting, tables and progress bars."""

from __future__ import annotations

import argparse
import json
import math
from contextlib import contextmanager

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from ..errors import InputError


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block) and exit status 2."""

    def error(self, message):
        # "mcirl results: ..." names the subcommand; the bare "mcirl" would repeat the prefix
        raise InputError(self.prog.removeprefix("mcirl").strip() or "arguments", message)


def count_arg(text: str) -> int:
    """An integer count that also accepts scientific notation (1e7, 2.1e10)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}")
    return int(value)


def m_arg(text: str):
    return "bound" if text == "bound" else count_arg(text)


def real_arg(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def emit_json(obj) -> None:
    """Print obj as standard JSON: NaN and infinities (a quantity not measured, such as MWAL's gap
    for another learner) become null, which JSON has, not NaN, which it has not."""
    print(json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False))


def _finite(x):
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, (float, np.floating)) and not math.isfinite(x):
        return None
    return x


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(type(x).__name__)


def sig(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}g}"


def print_table(table: Table) -> None:
    """Print a rich table with every value whole.

    Rich fits a table to the console by cutting cells off with an ellipsis, which shows
    1.846e+04 as "1.846…": a wrong number, not a short one. Here a cell that does not fit folds
    onto a second line instead, and output to a file or pipe (no terminal, so no width to fit)
    is as wide as the table.
    """
    for column in table.columns:
        column.overflow = "fold"
    console = Console()
    if not console.is_terminal:
        natural = console.measure(table, options=console.options.update_width(1 << 16)).maximum
        console = Console(width=max(console.width, natural))
    console.print(table)


def add_learner_options(p, override: bool = False) -> None:
    """The learner's options shared by every command that runs it; with ``override`` (a sweep)
    they default to None, the config's own."""
    from ..learn import CERTIFICATES, PROJECTION_STEPS

    config = " (default: the config's, else %s)" if override else " (default %s)"
    p.add_argument("--projection-step", dest="projection_step", choices=PROJECTION_STEPS,
                   default=None if override else "segment",
                   help="projection's step: segment, clipped so mu_bar stays in the hull, or "
                        "line, the paper's unclipped step" + config % "segment")
    p.add_argument("--certificate", choices=CERTIFICATES, default=None if override else "auto",
                   help="stop each row once its outcome is proven; off runs every row to its "
                        "stop or the cap" + config % "on, off with the line step")


@contextmanager
def bars(enabled: bool, *columns):
    """A transient rich progress display on stderr (None when disabled)."""
    if not enabled:
        yield None
        return
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar


@contextmanager
def phase_bars(enabled: bool):
    """A bar per phase; yields callback(phase, done, total) (None when disabled)."""
    columns = (TextColumn("{task.description:<8}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), TimeRemainingColumn())
    with bars(enabled, *columns) as bar:
        if bar is None:
            yield None
            return
        tasks = {}

        def update(phase, done, total):
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update
