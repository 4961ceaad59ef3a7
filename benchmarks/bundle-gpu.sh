#!/usr/bin/env bash
# Prepares .bundle/ for the lent GPU machine (no Node, no network): the team's bundle
# (../shared/device/bundle.sh: node, npm, node_modules, the built addon, OpenBLAS) plus
# OpenBLAS's headers, so that benchmarks/gpu.sh can rebuild the addon there against cuDNN
# and keep a fast CPU reference. Then: run with carry [".bundle"] and the command
#   bash .bundle/run.sh bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/device/bundle.sh
header=$(readlink -f /usr/include/x86_64-linux-gnu/cblas.h 2>/dev/null || readlink -f /usr/include/cblas.h)
mkdir -p .bundle/include
cp "$(dirname "$header")"/*.h .bundle/include/
# the unversioned name, for the linker there
for so in .bundle/lib/libopenblas.so.*; do [ -e "$so" ] && ln -sf "$(basename "$so")" .bundle/lib/libopenblas.so; done
echo "bundle-gpu: OpenBLAS headers in .bundle/include"
