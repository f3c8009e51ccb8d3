"""Compile the CUDA kernels for real GPU targets without a GPU: PTX from NVVM, then a cubin
from nvJitLink (the toolkit wheels of ``numba-cuda[cu13]``), and report what ptxas allotted.

The simulator runs the kernels' Python, not their compiled code: a kernel that only the real
compiler rejects (an allocation, an object, a type it cannot lower) or one that spills to local
memory passes every simulator test. This catches both. It must run in a process where
NUMBA_ENABLE_CUDASIM is unset (the simulator replaces ``numba.cuda`` wholesale), so the test
runs it as ``python -m tests.kernels.cuda_build``, which prints one JSON object:
{kernel: {arch: {"registers", "stack", "smem", "lmem"}}} in registers and bytes.
"""

from __future__ import annotations

import json
import re
import sys
import types

import numba
import numpy as np

ARCHS = ((8, 0), (9, 0))  # A100, H100
_USAGE = re.compile(r"used (\d+) registers.*?(\d+) stack, (\d+) bytes smem.*?(\d+) bytes lmem")


def _pretend_device(cc):
    """Device functions called from a kernel (our njit RNG and alias helpers) are compiled for
    the *current device's* compute capability even under compile_ptx(cc=...); with no device,
    numba-cuda would fail asking the driver. Stand a device of capability cc in for it."""
    import numba.cuda.dispatcher

    numba.cuda.dispatcher.get_current_device = lambda: types.SimpleNamespace(
        compute_capability=cc)


def example_args():
    """Host arguments of each kernel as the launchers build them, on a tiny chain."""
    from mcirl.kernels import cuda as kernels
    from mcirl.kernels import cuda_solve as solve
    from mcirl.sample import ExpertChain

    S = 4
    chain = ExpertChain(nxt=np.tile(np.arange(S), (S, 1)), prob=np.full((S, S), 1.0 / S),
                        d0=np.full(S, 1.0 / S))
    units = np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.int64)
    rows = np.zeros((1, S, S), np.int64), np.full((1, S, S), 1.0 / S)  # one policy's P_pi
    rhs = np.ones((1, S))
    return {
        kernels.walk_kernel: kernels.walk_args(chain.alias, chain.init_alias, 0.9, 8, 1, *units, S),
        kernels.counts_kernel: kernels.counts_args(*chain.counts_rows, 0.9, 8, 1, *units),
        solve.values_kernel: solve.values_args(*rows, 0.9, rhs, rhs, 1e-12, 8, empty=np.empty),
        solve.occupancy_kernel: solve.occupancy_args(*rows, 0.9, rhs, 1e-12, 8, empty=np.empty),
    }


def arch(cc):
    """'sm_90' for compute capability (9, 0)."""
    return f"sm_{cc[0]}{cc[1]}"


def resources(kernel, args, cc):
    """ptxas' allotment for kernel compiled for capability cc: registers and bytes."""
    from numba import cuda

    signature = tuple(numba.typeof(a) for a in args)
    ptx, _ = cuda.compile_ptx(kernel.py_func, signature, cc=cc)
    from cuda.core import Linker, LinkerOptions, ObjectCode  # after NVVM: see numba-cuda's order

    linker = Linker(ObjectCode.from_ptx(ptx.encode()),
                    options=LinkerOptions(arch=arch(cc), verbose=True))
    try:
        linker.link("cubin")
    except Exception as error:  # nvJitLink says only ERROR_INTERNAL; its log says why
        raise RuntimeError(f"{kernel.__name__} for {arch(cc)}: "
                           f"{linker.get_error_log().strip()}") from error
    registers, stack, smem, lmem = map(int, _USAGE.search(linker.get_info_log()).groups())
    return {"registers": registers, "stack": stack, "smem": smem, "lmem": lmem}


def main():
    report = {}
    for cc in ARCHS:
        _pretend_device(cc)
        for kernel, args in example_args().items():
            report.setdefault(kernel.__name__, {})[arch(cc)] = resources(kernel, args, cc)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
