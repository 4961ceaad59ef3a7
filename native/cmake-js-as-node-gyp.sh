#!/usr/bin/env sh
# prebuildify calls `node-gyp rebuild --target=... --arch=... --release`; this project builds
# with cmake-js instead (N-API, so the target version does not matter). The result lands in
# build/Release/alexnet_native.node, the one .node file prebuildify then copies.
set -e
cd "$(dirname "$0")/.."
exec npx --no-install cmake-js rebuild --out build
