#!/usr/bin/env bash
# Runs on the GPU machine, in the repository root, with .gpu/ and .gl/ carried (scripts/gpu/make-kit.sh made them):
# unpacks Node and Dawn into /tmp, installs the GL/Vulkan loaders, points Vulkan at NVIDIA's driver, then runs
# the command given, e.g. `bash scripts/gpu/on-device.sh node .gpu/bench/run.mjs --backend webgpu`.
set -euo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
mkdir -p /tmp/kit/bin /tmp/kit/node_modules
xz -dc .gpu/node.xz > /tmp/kit/bin/node && chmod +x /tmp/kit/bin/node
tar -C /tmp/kit/node_modules -xJf .gpu/webgpu.tar.xz
# The bundles resolve 'webgpu' from a node_modules beside or above them.
rm -rf /tmp/kit/bench && cp -r .gpu/bench /tmp/kit/bench
export PATH=/tmp/kit/bin:$PATH
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
export TESSERA_BENCH_PYTHON=${TESSERA_BENCH_PYTHON:-$(command -v python3)}
export TESSERA_BENCH_PEER_ENTRY=/tmp/kit/bench/peers-main.mjs
export XDG_RUNTIME_DIR=/tmp TESSERA_BENCH_GPU_MACHINE=1
# Commands name the bundles as .gpu/bench/X.mjs; run the unpacked copies.
args=()
for a in "$@"; do args+=("${a//.gpu\/bench/\/tmp\/kit\/bench}"); done
"${args[@]}"
