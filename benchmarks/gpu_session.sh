#!/usr/bin/env bash
# Everything the GPU backend still needs measured, in one command on a machine with a GPU:
# the device's facts, the kernel and gpu-marked tests on the device, the GPU benchmarks.
#
#   bash benchmarks/gpu_session.sh [PROBE_DIR]        (PROBE_DIR: where sol.py is; ../shared/probe)
#   STEPS="tests-gpu bench-learner" bash benchmarks/gpu_session.sh ...     (only these steps)
#   STEPS="device seed-table seed-table-report" bash benchmarks/gpu_session.sh ...
#       (the whole seed table, examples/seed-table.toml on the GPU, into
#        $OUT/seed-table.sqlite, then its report; not among the default steps. A sweep cut off
#        by a limit keeps every task it finished: SEED_TABLE_DB=that file, carried into the
#        next call, resumes it there.)
#   STEP_TIMEOUT=240 bash benchmarks/gpu_session.sh ...   (stop any one step after 240 s)
#   BUDGET=540 bash benchmarks/gpu_session.sh ...   (the whole run in 540 s: each step gets at
#                                                    most what is left, none starts with < 10 s)
#
# Steps run in order of what a short lease must not miss: the device's facts, the gpu-marked
# tests (GPU against CPU, occupancy against exact), the sampler and learner benchmarks (the
# issue's targets), then the kernel tests on the device and the evaluation calibration.
# Logs and JSON go to $OUT (the device tool's result folder) or ./gpu-results. Every step runs
# even when an earlier one fails or runs out of time (the benchmarks log each measurement as
# they finish it, so a cut-off step keeps those); the exit status is the number of steps that
# failed or were skipped for want of BUDGET. mcirl runs from src/ (PYTHONPATH), so the machine
# needs only the [gpu] packages, pytest and hypothesis.
set -uo pipefail
cd "$(dirname "$0")/.."
probe="$(realpath -m "${1:-../shared/probe}")"
out="${OUT:-gpu-results}"
mkdir -p "$out"
# MCIRL_REQUIRE_GPU: the test suite stops at once, rather than simulating or skipping, if it
# cannot reach the GPU.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MCIRL_REQUIRE_GPU=1
py="${PYTHON:-python3}"
budget="${BUDGET:-0}"  # 0: no limit
steps="${STEPS:-device tests-gpu bench-gpu-sampler bench-learner tests-kernels bench-evaluate}"
failed=0

step() {  # step NAME COMMAND...: run, log to $out/NAME.log, count a failure
    local name=$1
    shift
    [[ " $steps " == *" $name "* ]] || return 0
    local seconds="${STEP_TIMEOUT:-0}" left=$((budget - SECONDS))
    if ((budget > 0)); then
        if ((left < 10)); then
            echo "== $name: SKIPPED (BUDGET=$budget s spent)"
            failed=$((failed + 1))
            return 0
        fi
        ((seconds == 0 || seconds > left)) && seconds=$left
    fi
    echo "== $name: $*"
    local t0=$SECONDS limit=()
    # SIGINT first: pytest then prints its summary and a sweep records its seconds; 0: no limit
    [[ $(type -t "$1") == file ]] && limit=(timeout -s INT -k 15 "$seconds")
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
step tests-gpu "$py" -m pytest -q -p no:cacheprovider -m gpu tests
step bench-gpu-sampler "$py" benchmarks/bench_gpu_sampler.py --probe "$probe" --json
step bench-learner "$py" benchmarks/bench_learner.py --backend gpu --json
step tests-kernels "$py" -m pytest -q -p no:cacheprovider tests/kernels tests/test_sample.py
step bench-evaluate "$py" benchmarks/bench_evaluate.py --backend gpu --json
seed_db="$out/seed-table.sqlite"
[[ " $steps " == *" seed-table "* && -n "${SEED_TABLE_DB:-}" && ! -e "$seed_db" ]] &&
    cp "$SEED_TABLE_DB" "$seed_db"  # only a run that resumes the sweep needs its database
step seed-table "$py" -m mcirl sweep examples/seed-table.toml --backend gpu --db "$seed_db" \
    --resume --quiet
step seed-table-report "$py" -m mcirl report --db "$seed_db" -o "$out/seed-table-report.md"
cat "$out/device.log"
exit "$failed"
