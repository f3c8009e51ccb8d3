"""The documented examples are real output: run them and compare.

A fenced block in README.md or docs/*.md preceded by the line ``<!-- example -->`` is a
session: each line starting with ``$ `` is a command (run by bash in one scratch folder shared
by the page's examples, so a file one makes is there for the next), and the lines up to the
next command are its documented output. Before comparing, both sides are masked: timings
(``0.86 s``, the ``seconds`` of --json), the scratch folder's path, mcirl's version and git
commit; numbers are compared to 6 significant digits (certified solves agree to ~1e-10, not
to the last digit). Rich tables are drawn 100 columns wide.

    python -m tests.readme            # check every example; exit status 1 on a difference
    python -m tests.readme --update   # rewrite the documented outputs from fresh runs

tests/test_readme.py runs the check in the test suite, so CI fails when a documented output no
longer matches.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).parents[1]
MARK = "<!-- example -->"
WIDTH = "100"


@dataclass
class Example:
    page: Path
    start: int  #: index of the block's first line after the opening fence
    end: int  #: index of the closing fence
    commands: list  #: [(command, documented output lines)]


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def examples(page: Path) -> list[Example]:
    lines = page.read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.strip() != MARK:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise ValueError(f"{page.name}:{i + 1}: {MARK} must be followed by a fenced block")
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        commands = []
        for line in lines[i + 2:end]:
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
            else:
                raise ValueError(f"{page.name}:{i + 3}: an example starts with a '$ ' command")
        found.append(Example(page, i + 2, end, commands))
    return found


def run(command: str, cwd: Path) -> list[str]:
    env = {**os.environ, "COLUMNS": WIDTH, "NO_COLOR": "1", "TERM": "dumb"}
    done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    if done.returncode not in (0, 1):  # 1: verify's "counterexample found"
        raise RuntimeError(f"{command!r} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout.rstrip("\n").splitlines()


_NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[+-]?\d+)?(?![\w.])")


def _significant(match: re.Match) -> str:
    return f"{float(match.group()):.6g}"


def masked(lines: list[str], scratch: Path) -> list[str]:
    from mcirl import __version__

    out = []
    for line in lines:
        line = line.replace(str(scratch), "<scratch>").replace(__version__, "<version>")
        line = re.sub(r"\b\d+(?:\.\d+)? s\b", "<t> s", line)  # timings
        line = re.sub(r'("(?:expert|sample|learn)": )[0-9.e+-]+', r"\1<t>", line)
        line = _NUMBER.sub(_significant, line.rstrip())
        out.append(re.sub(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{12,40}(-dirty)?\b", "<sha>", line))
    return out


def check(update: bool = False, select: str | None = None, where=None) -> list[str]:
    """Run every example of the pages (default :func:`pages`); return the differences (and,
    with update, rewrite the pages)."""
    problems = []
    for page in where or pages():
        found = [e for e in examples(page) if select is None or any(select in c for c, _ in e.commands)]
        if not found:
            continue
        lines = page.read_text().splitlines()
        with tempfile.TemporaryDirectory() as scratch:
            scratch = Path(scratch)
            results = [[(c, run(c, scratch)) for c, _ in e.commands] for e in found]
            for example, outputs in zip(found, results):
                for (command, documented), (_, actual) in zip(example.commands, outputs):
                    want, got = masked(documented, scratch), masked(actual, scratch)
                    if want != got:
                        diff = "\n".join(difflib.unified_diff(want, got, "documented", "actual", lineterm=""))
                        problems.append(f"{page.name}: $ {command}\n{diff}")
            if update:
                for example, outputs in reversed(list(zip(found, results))):
                    body = [line for command, actual in outputs
                            for line in [f"$ {command}", *[a.replace(str(scratch), ".") for a in actual]]]
                    lines[example.start:example.end] = body
                page.write_text("\n".join(lines) + "\n")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the documented outputs")
    parser.add_argument("--only", help="only the examples whose commands contain this text")
    args = parser.parse_args(argv)
    problems = check(args.update, args.only)
    for problem in problems:
        print(problem, end="\n\n")
    if args.update:
        print(f"updated {len(problems)} example command(s) whose output had changed")
        return 0
    print(f"{len(problems)} documented output(s) differ" if problems else "every documented example matches")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
