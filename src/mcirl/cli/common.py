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
from rich.text import Text

from ..errors import InputError


#: The help of options many commands share, written once.
COMMON_HELP = {
    "json": "print the results as JSON (standard JSON: a value not measured is null)",
    "quiet": "no progress bars (long commands print log lines instead)",
    "eps": "accuracy eps of every criterion (the learner stops at eps/2)",
    "delta": "target failure probability delta",
    "algorithm": "the apprenticeship learner",
    "criterion": "success criterion: theorem (sup-norm <= eps), l2, regret (w* . (mu_E - mu) <= eps)",
    "sampler": "expert-trajectory sampler: counts (cost independent of m), trajectories, auto",
    "backend": "where to compute: cpu, gpu (CUDA and CuPy), auto (gpu if present)",
    "format": "figure file format",
    "db": "results database (SQLite)",
    "seed": "seed of the expert trajectories",
    "resume": "continue a run already in the database",
    "no_figures": "write the report without drawing figures",
}


class HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the text already states it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or default is None or default is False or default == argparse.SUPPRESS
                or action.nargs == 0
                or not action.option_strings):
            return text
        shown = f"{default:,}" if isinstance(default, int) else str(default)
        return f"{text} (default {shown})" if text else f"default {shown}"


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block), exit status 2, no abbreviated options
    (``--rep`` is not ``--reps``) and "did you mean" for near-misses of options and choices."""

    #: The parser that parsed last: the subcommand whose options an unknown one is compared to
    #: (argparse reports leftovers from the top-level parser, which knows none of them).
    active = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):
        """An option without its own help text takes the shared one (:data:`COMMON_HELP`)."""
        dest = kwargs.get("dest") or (args[0].lstrip("-").replace("-", "_") if args else None)
        if kwargs.get("help") is None and dest in COMMON_HELP:
            kwargs["help"] = COMMON_HELP[dest]
        return super().add_argument(*args, **kwargs)

    def flags(self) -> dict[str, str]:
        """dest -> long flag (``max_horizon`` -> ``--max-horizon``) of every option, those of
        argument groups included: how an error spells a field (argparse keeps no public list)."""
        return {action.dest: max(action.option_strings, key=len) for action in self._actions
                if action.option_strings and action.dest != "help"}

    def parse_known_args(self, args=None, namespace=None):
        Parser.active = self
        return super().parse_known_args(args, namespace)

    def error(self, message):
        # "mcirl results: ..." names the subcommand; the bare "mcirl" would repeat the prefix
        parser = Parser.active if message.startswith("unrecognized arguments") and Parser.active else self
        field = parser.prog.removeprefix("mcirl").strip() or "arguments"
        raise InputError(field, message + parser._suggestion(message))

    def _suggestion(self, message: str) -> str:
        import difflib
        import re

        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown and unknown.group(1).startswith("-"):
            options = [o for o in self._option_string_actions if o.startswith("--")]
            close = difflib.get_close_matches(unknown.group(1).split("=")[0], options, n=1, cutoff=0.6)
            return f"; did you mean {close[0]}?" if close else ""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = [c.strip().strip("'") for c in choice.group(2).split(",")]
            close = difflib.get_close_matches(choice.group(1), options, n=1, cutoff=0.5)
            return f"; did you mean {close[0]}?" if close else ""
        return ""


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
    """A trajectory count, or 'bound' (ceil(m_AN) of the cell)."""
    if text == "bound":
        return "bound"
    try:
        return count_arg(text)
    except argparse.ArgumentTypeError:
        hint = "; did you mean bound?" if _close(text, "bound") else ""
        raise argparse.ArgumentTypeError(f"not a whole number or 'bound': {text!r}{hint}") from None


def _close(text: str, word: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, text.lower(), word).ratio() >= 0.6


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


def add_dry_run_options(p, plan: str, calibration: str) -> None:
    """--dry-run (``plan``: what it prints instead of running) and --no-calibrate (``calibration``:
    what it skips), as every command that can cost its time first does."""
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help=plan)
    p.add_argument("--no-calibrate", dest="no_calibrate", action="store_true",
                   help=f"with --dry-run: {calibration}")


def add_learner_options(p, override: bool = False) -> None:
    """The learner's options shared by every command that runs it; with ``override`` (a sweep)
    they default to None, the config's own."""
    from ..learn import CERTIFICATES, DEFAULT_PROJECTION_STEP, PROJECTION_STEPS

    config = " (default: the config's, else %s)" if override else " (default %s)"
    p.add_argument("--projection-step", dest="projection_step", choices=PROJECTION_STEPS,
                   default=None if override else DEFAULT_PROJECTION_STEP,
                   help="projection's step: segment, clipped so mu_bar stays in the hull, or "
                        "line, the paper's unclipped step" + config % DEFAULT_PROJECTION_STEP)
    p.add_argument("--certificate", choices=CERTIFICATES + ("auto",), default=None if override else "",
                   help="on: skip rows proven to succeed (assured) and stop rows proven to fail; "
                        "failure: the second only; off: every row runs to its stop or the cap; "
                        "auto: on, off with the line step" + config % "on, off with the line step")


@contextmanager
def bars(enabled: bool, *columns):
    """A transient rich progress display on stderr (None when disabled)."""
    if not enabled:
        yield None
        return
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        yield bar


#: Phases whose units take uneven time, so that a remaining time extrapolated from the rate so
#: far would mislead: the learner's rows (the slowest rows are the last to finish: "673/800,
#: 2 s left" was followed by 30 s more).
UNEVEN_PHASES = ("learn",)


class HonestTimeRemaining(TimeRemainingColumn):
    """Rich's remaining time, left blank for tasks whose units take uneven time."""

    def render(self, task):
        if task.fields.get("uneven"):
            return Text("")
        return super().render(task)


@contextmanager
def phase_bars(enabled: bool):
    """A bar per phase; yields callback(phase, done, total) (None when disabled). Phases of
    :data:`UNEVEN_PHASES` show no remaining time."""
    columns = (TextColumn("{task.description:<8}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), HonestTimeRemaining())
    with bars(enabled, *columns) as bar:
        if bar is None:
            yield None
            return
        tasks = {}

        def update(phase, done, total):
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total, uneven=phase in UNEVEN_PHASES)
            bar.update(tasks[phase], completed=done, total=total)

        yield update
