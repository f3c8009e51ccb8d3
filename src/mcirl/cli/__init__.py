"""The ``mcirl`` command line: one module per command (``bound``, ``mdp``, ``estimate``,
``explain``, ``sweep`` and ``reproduce``, ``results``, ``plot`` and ``report``, ``elbow``, ``verify``), each
with the ``register(sub)`` that adds its options next to the code that reads them.

Every bad input ends in one line ``mcirl: error: <field>: <what is allowed> (got ...)`` on
stderr and exit status 2, without a traceback; every command that prints results has --json.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sqlite3
import sys

from .. import __version__
from ..errors import InputError
from . import bound, elbow, estimate, explain, mdp, report, results, sweep, verify
from .common import Parser

EXIT_INPUT = 2
#: SQLite's messages for a store that cannot be written, as opposed to a bug.
STORE_FAILURES = ("disk is full", "readonly database", "disk I/O error", "unable to open",
                  "database is locked")
#: ... and for one whose pages are damaged.
STORE_DAMAGE = ("malformed", "file is not a database")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mcirl", description="Monte Carlo verification of apprenticeship-"
                    "learning sample complexity.")
    parser.add_argument("--version", action="version", version=f"mcirl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in (bound, mdp, estimate, explain, sweep, results, report, elbow, verify):
        command.register(sub)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (a batch scheduler's stop, ``kill``), raised as an interrupt so that everything
    Ctrl-C does on the way out (a sweep's run marked interrupted, its wall time kept) happens."""


def _terminate(signum, frame):
    raise Terminated()


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """The KeyboardInterrupt in exc's chain of causes, if any: Ctrl-C landing inside a Numba
    function's call surfaces as a SystemError raised from it ("returned a result with an
    exception set")."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def main(argv=None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate) if _main_thread() else None
    try:
        return _run(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _resume_hint(argv, args) -> str:
    """'; `mcirl sweep ... --resume` continues it' for a command that stores its work and
    resumes (it has --resume), else ''."""
    if args is None or not hasattr(args, "resume"):
        return ""
    words = list(sys.argv[1:] if argv is None else argv)
    words += [] if "--resume" in words else ["--resume"]
    return f"; `mcirl {shlex.join(words)}` continues it"


def _run(argv) -> int:
    parser = build_parser()
    args = None  # the interrupt handler's resume hint needs to know whether parsing finished
    try:
        args = parser.parse_args(argv)
        status = args.handler(args)
    except InputError as exc:
        # the (sub)command that parsed last names the fields: "mcirl results list" spells its own
        spell = (Parser.active or parser).flags().get
        print(f"mcirl: error: {exc.text(spell)}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError as exc:
        # Limits keep sizes within int32 and tables within 2^32 entries; what still does not fit
        # this machine's memory ends here (NumPy's message says how much was asked for).
        print(f"mcirl: error: out of memory: {str(exc) or 'an allocation failed'}; use fewer "
              "states, features or replicates", file=sys.stderr)
        return EXIT_INPUT
    except (KeyboardInterrupt, SystemError) as exc:
        interrupt = _interrupt_in(exc)
        if interrupt is None:
            raise
        hint = _resume_hint(argv, args)
        if isinstance(interrupt, Terminated):
            print(f"mcirl: terminated{hint}", file=sys.stderr)
            return 128 + signal.SIGTERM
        print(f"mcirl: interrupted{hint}", file=sys.stderr)
        return 130
    except sqlite3.DatabaseError as exc:
        if any(text in str(exc) for text in STORE_DAMAGE):
            # damage that appeared after the open's quick_check (pages read later, or written
            # by another process meanwhile)
            print(f"mcirl: error: db: the results database is damaged ({exc}); restore it from a "
                  "copy (docs/cli.md, 'Sharing a results database')", file=sys.stderr)
            return EXIT_INPUT
        if not any(text in str(exc) for text in STORE_FAILURES):
            raise
        # what was committed stays: every task is one transaction, and this one rolled back
        print(f"mcirl: error: db: the results database cannot be written ({exc}); what it "
              "held is kept", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        # The reader went away (`mcirl ... --json | head`): stop quietly as a Unix filter does,
        # with stdout sent nowhere so that the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
