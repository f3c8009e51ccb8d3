#!/usr/bin/env bash
# Everything the GPU backend still needs measured, in one command on a machine with a GPU:
# the device's facts, the kernel and gpu-marked tests on the device, the GPU benchmarks.
#
#   bash benchmarks/gpu_session.sh [PROBE_DIR]        (PROBE_DIR: where sol.py is; ../shared/probe)
#   STEPS="tests-gpu bench-learner" bash benchmarks/gpu_session.sh ...     (only these steps)
#   STEP_TIMEOUT=240 bash benchmarks/gpu_session.sh ...   (stop any one step after 240 s)
#
# Logs and JSON go to $OUT (the device tool's result folder) or ./gpu-results. Every step runs
# even when an earlier one fails or runs out of STEP_TIMEOUT seconds (the benchmarks log each
# measurement as they finish it, so a cut-off step keeps those); the exit status is the number
# of failed steps. mcirl runs from src/ (PYTHONPATH), so the machine needs only the [gpu]
# packages, pytest and hypothesis.
set -uo pipefail
cd "$(dirname "$0")/.."
probe="$(realpath -m "${1:-../shared/probe}")"
out="${OUT:-gpu-results}"
mkdir -p "$out"
# MCIRL_REQUIRE_GPU: the test suite stops at once, rather than simulating or skipping, if it
# cannot reach the GPU.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MCIRL_REQUIRE_GPU=1
py="${PYTHON:-python3}"
failed=0

step() {  # step NAME COMMAND...: run, log to $out/NAME.log, count a failure
    local name=$1
    shift
    [[ -z "${STEPS:-}" || " $STEPS " == *" $name "* ]] || return 0
    echo "== $name: $*"
    local t0=$SECONDS limit=()
    [[ $(type -t "$1") == file ]] && limit=(timeout "${STEP_TIMEOUT:-0}")  # 0: no limit
    if "${limit[@]}" "$@" >"$out/$name.log" 2>&1; then
        echo "   ok ($((SECONDS - t0)) s)"
    else
        echo "   FAILED ($((SECONDS - t0)) s): tail of $out/$name.log"
        tail -n 15 "$out/$name.log"
        failed=$((failed + 1))
    fi
}

device_facts() {  # && because set -e is off inside step's if
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv &&
        "$py" -c "import sys, numba, numba.cuda, cupy; print(sys.version.split()[0], numba.__version__, cupy.__version__, numba.cuda.get_current_device().name)" &&
        date -u
}

step device device_facts
step tests-kernels "$py" -m pytest -q -p no:cacheprovider tests/kernels tests/test_sample.py
step tests-gpu "$py" -m pytest -q -p no:cacheprovider -m gpu tests
step bench-gpu-sampler "$py" benchmarks/bench_gpu_sampler.py --probe "$probe" --json
step bench-evaluate "$py" benchmarks/bench_evaluate.py --backend gpu --json
step bench-learner "$py" benchmarks/bench_learner.py --backend gpu --json
cat "$out/device.log"
exit "$failed"
