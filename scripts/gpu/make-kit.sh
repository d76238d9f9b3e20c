#!/usr/bin/env bash
# Packs what a GPU machine without Node, npm or network needs to run our WebGPU benchmarks (see
# ../shared/webgpu-node.md): this machine's Node binary, the linux-x64 part of the `webgpu` package (Dawn), the
# vendor-neutral GL/Vulkan loader .debs, and the bench scripts bundled with esbuild (no tsx there). Output: the
# git-ignored .gpu/ and .gl/ folders, to be carried to the machine; scripts/gpu/on-device.sh runs there.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=.gpu
# --bundles-only: rebuild the bench bundles and keep the packed Node and Dawn (they take most of the time).
if [ "${1:-}" = "--bundles-only" ] && [ -f "$KIT/node.xz" ]; then
  BUNDLES_ONLY=1
  rm -rf "$KIT/bench" && mkdir -p "$KIT/bench"
else
  BUNDLES_ONLY=0
  rm -rf "$KIT" && mkdir -p "$KIT/bench"
fi

if [ -z "$(ls .gl/*.deb 2>/dev/null)" ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi

if [ "$BUNDLES_ONLY" = 0 ]; then
  xz -T0 -6 -c "$(command -v node)" > "$KIT/node.xz"
  WEBGPU=$(dirname "$(node -e "console.log(require.resolve('webgpu/package.json', { paths: ['packages/backend-webgpu'] }))")")
  tar -C "$WEBGPU/.." -cJf "$KIT/webgpu.tar.xz" webgpu/package.json webgpu/index.js webgpu/dist/linux-x64
fi

# esbuild comes with tsx; bundle each entry into one ESM file (native and worker-based packages stay external).
ESBUILD=$(node -e "console.log(require.resolve('esbuild', { paths: [require.resolve('tsx', { paths: ['.'] })] }))")
node --input-type=module -e "
const { build } = await import('$ESBUILD');
await build({
  entryPoints: { run: 'bench/run.ts', 'peers-main': 'bench/peers/main.ts', 'gpt-breakdown': 'bench/gpt-breakdown.ts', 'webgpu-probe': 'bench/webgpu-probe.ts', 'webgpu-kernel-profile': 'bench/webgpu-kernel-profile.ts' },
  outdir: '$KIT/bench', bundle: true, platform: 'node', format: 'esm', target: 'node20', splitting: true,
  outExtension: { '.js': '.mjs' }, logLevel: 'warning',
  external: ['webgpu', 'onnxruntime-node', '@tessera/backend-cpu', '@tensorflow/tfjs-backend-wasm', '@jax-js/jax'],
  banner: { js: \"import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);\" },
});"
cp bench/backends/pytorch_bench.py "$KIT/bench/"
du -sh "$KIT" .gl
