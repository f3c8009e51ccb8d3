"""What identifies a run and where it came from, shared by every experiment (sweeps, elbow).

Content hashes (the run ids and task keys of the store), a run's provenance metadata, and the
reading of TOML config files with one-line errors.
"""

from __future__ import annotations

import hashlib
import json
import os
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


def source_commit() -> str | None:
    """The git commit this code came from: where it runs from a git checkout (an editable
    install) the checkout's HEAD, with '-dirty' when tracked files differ from it; else the
    commit setuptools-scm baked into ``mcirl._version`` when the wheel was built; else None."""
    here = Path(__file__).resolve().parent
    try:
        top = _git(here, "rev-parse", "--show-toplevel")
        if top and here == Path(top).resolve() / "src" / "mcirl":
            sha = _git(here, "rev-parse", "HEAD")
            dirty = _git(here, "status", "--porcelain", "--untracked-files=no")
            return f"{sha}-dirty" if sha and dirty else sha
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from . import _version
    except ImportError:
        return None
    commit = getattr(_version, "__commit__", None)
    if not commit:
        return None
    commit = commit[1:] if commit.startswith("g") else commit  # setuptools-scm's 'g' prefix
    return f"{commit}-dirty" if getattr(_version, "__dirty__", False) else commit


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=5).stdout.strip()


#: The packages whose versions a run records (None where not installed).
RECORDED_PACKAGES = ("numpy", "scipy", "numba", "numba-cuda", "cupy-cuda13x", "cupy-cuda12x",
                     "pandas", "dask", "distributed", "pyarrow", "matplotlib")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo; elsewhere what platform knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(backend: str = "cpu") -> dict:
    """Where a run's numbers came from: Python and package versions, the CPU model and core
    count, and on the GPU backend the device's name, memory and the driver's CUDA version."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    env = {"python": platform.python_version(), "platform": platform.platform(),
           "packages": {name: installed(name) for name in RECORDED_PACKAGES},
           "cpu": cpu_model(), "cores": os.cpu_count(), "gpu": None}
    if resolve_backend(backend) == "gpu":
        import cupy

        runtime = cupy.cuda.runtime
        props = runtime.getDeviceProperties(0)
        driver = runtime.driverGetVersion()
        env["gpu"] = {"name": props["name"].decode(), "memory_bytes": int(props["totalGlobalMem"]),
                      "driver_cuda": f"{driver // 1000}.{driver % 1000 // 10}",
                      "devices": runtime.getDeviceCount()}
    return env


def run_metadata(backend: str) -> dict:
    """Package version, source commit, host, device (in words) and the environment."""
    env = environment(backend)
    device = f"cpu: {env['cpu']} ({env['cores']} cores)"
    if env["gpu"]:  # the runs table must say where the numbers came from
        device = f"gpu: {env['gpu']['name']}"
    return {"package_version": __version__, "git_sha": source_commit(), "host": socket.gethostname(),
            "device": device, "environment": env}


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
