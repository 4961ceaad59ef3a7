#!/usr/bin/env bash
# Everything a GPU machine is for, in one call of a few minutes (from the project root, with
# node on PATH: on the lent device machine, `bash .bundle/run.sh bash benchmarks/gpu.sh`):
#   1. the card;
#   2. a build against cuDNN (PyTorch's nvidia-cudnn package, or CUDNN_ROOT) into build-cudnn/,
#      used through ALEXNET_NATIVE_ADDON when it succeeds (else the installed addon, no cuDNN);
#   3. `npm run test:gpu`: the cuda/cudnn ava tests and the cross-backend check, all shapes;
#   3b. the cross-check of the other GEMM versions (ALEXNET_GEMM=v2, tf32, 3xtf32): conv2d and
#      linear at the small shapes and AlexNet's at batch 8;
#   4. the cross-check's small shapes once under compute-sanitizer (memcheck), and v2's once
#      under racecheck (the cp.async double buffer: one barrier per K step guards both the
#      copies into one buffer and the reads of the other, which the host emulator cannot see);
#   5. the GPU benchmarks (benchmarks/gpu.ts): per layer every GEMM version vs cuDNN, whole
#      step vs PyTorch in FP32 and TF32.
# Logs and results go to $OUT (the device tool's output folder) or bench-results/gpu.
# Each step has its own time limit (seconds, overridable: T_BUILD, T_TEST, T_VERSIONS (each),
# T_SANITIZER (each), T_BENCH; about 13 minutes at most in all, 6-8 expected) and a failed
# step does not stop the later ones; the exit status is that of the tests (step 3).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-bench-results/gpu}
mkdir -p "$out"
# libraries that bundle-gpu.sh compressed to fit the carry limit (run.sh's LD_LIBRARY_PATH
# already names .bundle/lib; nothing has loaded them yet)
for f in .bundle/lib/*.xz; do [ -e "$f" ] && xz -dkf "$f"; done
log() { echo "=== $(date -u +%H:%M:%S) $*" | tee -a "$out/steps.log"; }

log "1. card"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv 2>&1 | tee "$out/card.txt"

log "2. build against cuDNN"
cudnn_root=${CUDNN_ROOT:-$(python3 -c "import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__))" 2>/dev/null || true)}
arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.')
defines=(--CDCMAKE_CUDA_ARCHITECTURES="${arch:-90}")
# the bundle carries OpenBLAS's headers and library, so the CPU reference stays fast there
if [ -f .bundle/include/cblas.h ]; then
  blas=$(ls .bundle/lib/libopenblas*.so* 2>/dev/null | head -1)
  defines+=(--CDCBLAS_INCLUDE_DIR="$PWD/.bundle/include" ${blas:+--CDOPENBLAS_LIBRARY="$PWD/$blas"})
fi
if CUDNN_ROOT="$cudnn_root" timeout "${T_BUILD:-150}" npx cmake-js rebuild --out build-cudnn "${defines[@]}" > "$out/build-cudnn.log" 2>&1 \
   && [ -f build-cudnn/Release/alexnet_native.node ]; then
  export ALEXNET_NATIVE_ADDON=build-cudnn/Release/alexnet_native.node
  log "built: $(grep -E 'alexnet: (cuDNN|CUDA|CPU GEMM)' "$out/build-cudnn.log" | tr '\n' ' ')"
else
  log "cuDNN build failed (tail of the log below); going on with the installed addon"
  tail -30 "$out/build-cudnn.log"
fi
npx tsc -p tsconfig.json > "$out/tsc.log" 2>&1 || { log "tsc failed"; cat "$out/tsc.log"; }
node lib/cli.js info | tee "$out/info.txt"

log "3. npm run test:gpu"
timeout "${T_TEST:-180}" npm run test:gpu 2>&1 | tee "$out/test-gpu.log"
status=${PIPESTATUS[0]}
log "test:gpu exit status $status"

log "3b. the other GEMM versions against the CPU"
for v in v2 tf32 3xtf32; do
  ALEXNET_GEMM=$v timeout "${T_VERSIONS:-45}" node test/crosscheck.js --device cuda:0 --shapes all --batch 8 --only conv2d,linear \
    > "$out/crosscheck-$v.log" 2>&1
  log "ALEXNET_GEMM=$v: exit status $? ($(tail -1 "$out/crosscheck-$v.log"))"
  grep FAIL "$out/crosscheck-$v.log" | head -5
done

log "4. compute-sanitizer (memcheck) on the cross-check's small shapes"
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$sanitizer" ]; then
  timeout "${T_SANITIZER:-60}" "$sanitizer" --tool memcheck --leak-check no --error-exitcode 3 node test/crosscheck.js --shapes small \
    > "$out/sanitizer.log" 2>&1
  log "compute-sanitizer exit status $? ($(grep -c 'ERROR SUMMARY: 0 errors' "$out/sanitizer.log") clean summaries)"
  tail -5 "$out/sanitizer.log"
  ALEXNET_GEMM=v2 timeout "${T_SANITIZER:-60}" "$sanitizer" --tool racecheck --error-exitcode 3 node test/crosscheck.js --shapes small --only conv2d,linear \
    > "$out/racecheck-v2.log" 2>&1
  log "racecheck (ALEXNET_GEMM=v2) exit status $? ($(grep -c 'ERROR SUMMARY: 0 hazards' "$out/racecheck-v2.log") clean summaries)"
  tail -5 "$out/racecheck-v2.log"
else
  log "compute-sanitizer not found"
fi

log "5. benchmarks"
timeout "${T_BENCH:-300}" node benchmarks/gpu.js --batch "${BATCH:-128}" --repeats "${REPEATS:-5}" --out "$out" 2>&1 | tee "$out/bench.log"
log "done"
exit "$status"
