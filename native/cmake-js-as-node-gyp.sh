#!/usr/bin/env sh
# prebuildify calls `node-gyp rebuild --target=... --arch=... --release`; this project builds
# with cmake-js instead (N-API, so the target version does not matter), as a prebuild
# (ALEXNET_PORTABLE in CMakeLists.txt: static OpenBLAS, libgomp beside the addon, no cuDNN).
# build/ is reconfigured, not wiped: where `npm install` has already compiled it (CI), only
# the link is redone. prebuildify then moves build/Release/alexnet_native.node and copies
# build/Release/libgomp.so.1 into prebuilds/<platform>-<arch>/; the licences of what is
# linked in go there too. (build/ stays configured as a prebuild until `npm run build:native`.)
set -e
cd "$(dirname "$0")/.."
npx --no-install cmake-js configure --out build --CDALEXNET_PORTABLE=ON
npx --no-install cmake-js build --out build

notices="prebuilds/${PREBUILD_PLATFORM:-linux}-${PREBUILD_ARCH:-x64}/THIRD_PARTY_NOTICES.txt"
mkdir -p "$(dirname "$notices")"
{
  echo "alexnet-native's prebuilt addon contains or ships the following third-party software."
  echo
  echo "== OpenBLAS (linked statically): BSD 3-clause licence, as packaged by Debian =="
  cat /usr/share/doc/libopenblas0-pthread/copyright 2>/dev/null || cat /usr/share/doc/libopenblas-dev/copyright 2>/dev/null || echo "see https://github.com/OpenMathLib/OpenBLAS/blob/develop/LICENSE"
  echo
  echo "== libgomp.so.1 (GCC's OpenMP runtime): GPL 3 with the GCC Runtime Library Exception =="
  cat /usr/share/doc/libgomp1/copyright 2>/dev/null || echo "see https://gcc.gnu.org/onlinedocs/libstdc++/manual/license.html"
  echo
  echo "== CUDA runtime (cudart_static, linked statically): redistributed under the NVIDIA CUDA Toolkit EULA, Attachment A =="
  echo "see https://docs.nvidia.com/cuda/eula/"
} > "$notices"
