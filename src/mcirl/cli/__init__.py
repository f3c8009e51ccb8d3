"""The ``mcirl`` command line: one module per command (``bound``, ``mdp``, ``estimate``,
``sweep`` and ``reproduce``, ``results``, ``plot`` and ``report``, ``elbow``, ``verify``), each
with the ``register(sub)`` that adds its options next to the code that reads them.

Every bad input ends in one line ``mcirl: error: <field>: <what is allowed> (got ...)`` on
stderr and exit status 2, without a traceback; every command that prints results has --json.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from .. import __version__
from ..errors import InputError
from . import bound, elbow, estimate, mdp, report, results, sweep, verify
from .common import Parser

EXIT_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="mcirl", description="Monte Carlo verification of apprenticeship-"
                    "learning sample complexity.")
    parser.add_argument("--version", action="version", version=f"mcirl {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in (bound, mdp, estimate, sweep, results, report, elbow, verify):
        command.register(sub)
    return parser


def _caused_by_interrupt(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is in exc's chain of causes: Ctrl-C landing inside a Numba
    function's call surfaces as a SystemError raised from it ("returned a result with an
    exception set")."""
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        status = args.handler(args)
    except InputError as exc:
        print(f"mcirl: error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except MemoryError as exc:
        # Limits keep sizes within int32 and tables within 2^32 entries; what still does not fit
        # this machine's memory ends here (NumPy's message says how much was asked for).
        print(f"mcirl: error: out of memory: {str(exc) or 'an allocation failed'}; use fewer "
              "states, features or replicates", file=sys.stderr)
        return EXIT_INPUT
    except (KeyboardInterrupt, SystemError) as exc:
        if not _caused_by_interrupt(exc):
            raise
        print("mcirl: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`mcirl ... --json | head`): stop quietly as a Unix filter does,
        # with stdout sent nowhere so that the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
