#!/usr/bin/env bash
# The GPU check, in one run on the GPU machine (no network there): the GPU tests, the
# step times against PyTorch, MNIST on the GPU, then a summary table. Full logs and the
# JSON results go to $OUT (or ./gpu-check-out); the summary is printed last.
#
#   bash benchmarks/gpu_check.sh                 # from the repository root
#   DATA=.gpu-data/mnist bash benchmarks/gpu_check.sh
#
# The MNIST files must travel with the repository: copy ../shared/datasets/mnist to
# .gpu-data/mnist (listed in .git/info/exclude, named in the run's carry), or set DATA.
# Each step has its own time limit (seconds): T_TEST, T_BENCH, T_MNIST; about 8 minutes
# in all by default. DEVICE=strict SMALL=1 runs the same steps on a CPU, with tiny sizes
# (a check of this script, not of the GPU).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check-out}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
T_TEST=${T_TEST:-200} T_BENCH=${T_BENCH:-170} T_MNIST=${T_MNIST:-90}
DEVICE=${DEVICE:-cuda}
ARGS=(--device "$DEVICE")
if [ -n "${SMALL:-}" ]; then ARGS+=(--small); fi
DATA_ARG=()
if [ -n "${DATA:-}" ]; then DATA_ARG=(--data "$DATA"); fi

steps=()
run_step() {  # name, limit, command...: runs it, logs to $OUT/name.log, notes rc and time
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit} s): $*"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    tail -n 15 "$OUT/$name.log"
    steps+=("{\"name\": \"$name\", \"rc\": $rc, \"seconds\": $((SECONDS - t0))}")
}

{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  python3 -c "import numpy, cupy, torch; print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'torch', torch.__version__, 'cuda', torch.version.cuda)" || true
} >"$OUT/environment.log" 2>&1
cat "$OUT/environment.log"

run_step pytest "$T_TEST" python3 -m pytest -q -rs tests/test_gpu.py
run_step bench "$T_BENCH" python3 benchmarks/gpu_check.py bench "${ARGS[@]}" --reference --out "$OUT"
run_step mnist "$T_MNIST" python3 benchmarks/gpu_check.py mnist "${ARGS[@]}" "${DATA_ARG[@]}" --out "$OUT"

(IFS=,; echo "[${steps[*]}]") >"$OUT/steps.json"
python3 benchmarks/gpu_check.py summary --out "$OUT"
