"""The ``mcirl`` console script. Loading the command line (NumPy, Numba, rich) takes a few
tenths of a second; a Ctrl-C then ends as one after it does, in one line with status 130,
not in a traceback from inside an import."""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        print("mcirl: interrupted", file=sys.stderr)
        return 130
    return run()
