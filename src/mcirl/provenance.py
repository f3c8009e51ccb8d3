"""What identifies a run and where it came from, shared by every experiment (sweeps, elbow).

Content hashes (the run ids and task keys of the store), a run's provenance metadata, and the
reading of TOML config files with one-line errors.
"""

from __future__ import annotations

import hashlib
import json
import platform
import socket
import subprocess
import tomllib
from pathlib import Path

from . import __version__
from .backend import resolve_backend
from .errors import InputError


def content_hash(obj) -> str:
    """32 hex digits of SHA-256 of the canonical JSON of obj."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_metadata(backend: str) -> dict:
    """Package version, git sha of the source tree (if any), host and device."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        sha = None
    device = f"cpu: {platform.processor() or platform.machine()}"
    if resolve_backend(backend) == "gpu":  # the runs table must say where the numbers came from
        import cupy

        device = "gpu: " + cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return {"package_version": __version__, "git_sha": sha, "host": socket.gethostname(),
            "device": device}


def read_toml(path: Path) -> dict:
    """A TOML file's table; a missing, unreadable or invalid file is an InputError."""
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(str(path), "config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), f"cannot read ({exc.__class__.__name__})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(str(path), f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and tables recursively
        raise InputError(str(path), "is nested too deeply to be a config (arrays or tables "
                         "within each other hundreds of levels deep)") from None
