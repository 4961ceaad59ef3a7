#!/usr/bin/env bash
# Prepares .bundle/ for the lent GPU machine (no Node, no network): the team's bundle
# (../shared/device/bundle.sh: node, npm, node_modules, the built addon, OpenBLAS) plus
# OpenBLAS's headers, so that benchmarks/gpu.sh can rebuild the addon there against cuDNN
# and keep a fast CPU reference. Then: run with carry [".bundle"] and the command
#   bash .bundle/run.sh bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node (a dev dependency, ~290 MB for five platforms) would push the bundle past
# the 64 MiB that a run may carry; the GPU run does not need it (its test skips, saying so).
aside=$(mktemp -d)
restore() { [ -d "$aside/onnxruntime-node" ] && mv "$aside/onnxruntime-node" node_modules/; rmdir "$aside" 2>/dev/null || true; }
trap restore EXIT
[ -d node_modules/onnxruntime-node ] && mv node_modules/onnxruntime-node "$aside/"
bash ../shared/device/bundle.sh
header=$(readlink -f /usr/include/x86_64-linux-gnu/cblas.h 2>/dev/null || readlink -f /usr/include/cblas.h)
mkdir -p .bundle/include
cp "$(dirname "$header")"/*.h .bundle/include/
# the unversioned name, for the linker there
for so in .bundle/lib/libopenblas.so.*; do [ -e "$so" ] && ln -sf "$(basename "$so")" .bundle/lib/libopenblas.so; done
# OpenBLAS (36 MB: every CPU's kernels) travels compressed; gpu.sh unpacks it before node starts
[ -f .bundle/lib/libopenblas.so.0 ] && xz -T0 -9 -f .bundle/lib/libopenblas.so.0
echo "bundle-gpu: OpenBLAS headers in .bundle/include; $(du -sh .bundle | cut -f1) in all (the limit to carry is 64 MiB)"
