#!/usr/bin/env bash
# Makes WebGPU work on a machine without a GPU (CI, developer machines): Debian bookworm, run as root, apt reachable.
#
# - libvulkan1 + mesa-vulkan-drivers from bookworm: the Vulkan loader and the shared libraries lavapipe links
#   against (e.g. libLLVM-15). Bookworm's own lavapipe (Mesa 22.3) is too old for Dawn (no adapter).
# - lavapipe from bookworm-backports (Mesa 25): downloaded with a temporary apt source list (the system's sources are
#   not changed), unpacked, and only libvulkan_lvp.so is copied into the project-local, git-ignored .vk/ folder,
#   next to an ICD json that names it. Nothing of the backport is installed system-wide.
# - chromium: headless browser for test/browser (gets WebGPU through its bundled SwiftShader).
#
# Idempotent: a second run finds everything in place and only prints the path. The last line printed is the path to
# export as VK_DRIVER_FILES (the backend's test setup also finds .vk/lvp_icd.json by itself).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VK_DIR="$ROOT/.vk"
ICD="$VK_DIR/lvp_icd.json"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup-webgpu: $*" >&2; }

need_system_packages() {
  for p in libvulkan1 mesa-vulkan-drivers chromium; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 0
  done
  return 1
}

if need_system_packages; then
  log "installing libvulkan1 mesa-vulkan-drivers chromium from bookworm"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends libvulkan1 mesa-vulkan-drivers chromium >/dev/null
fi

if [ ! -s "$ICD" ] || [ ! -s "$VK_DIR/libvulkan_lvp.so" ]; then
  # The machine's own Debian mirror (first deb822 or one-line source that serves the main archive).
  MIRROR="$(grep -hoE '^URIs:[[:space:]]*[^[:space:]]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
  if [ -z "$MIRROR" ]; then
    MIRROR="$(grep -hoE '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+' /etc/apt/sources.list 2>/dev/null | awk '{print $NF}' | grep -v security | head -n1 || true)"
  fi
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
  log "fetching lavapipe from bookworm-backports ($MIRROR)"

  TMP="$(mktemp -d)"
  trap 'rm -rf "$TMP"' EXIT
  mkdir -p "$TMP/lists/partial" "$TMP/pkg"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bookworm-backports main" >"$TMP/sources.list"
  APT_OPTS=(-o "Dir::Etc::SourceList=$TMP/sources.list" -o "Dir::Etc::SourceParts=/dev/null" -o "Dir::State::Lists=$TMP/lists"
    -o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  apt-get "${APT_OPTS[@]}" update -qq
  VERSION="$(apt-cache "${APT_OPTS[@]}" madison mesa-vulkan-drivers | awk -F'|' '/bookworm-backports/ {gsub(/ /, "", $2); print $2; exit}')"
  [ -n "$VERSION" ] || { log "no mesa-vulkan-drivers in bookworm-backports"; exit 1; }
  log "mesa-vulkan-drivers $VERSION"
  (cd "$TMP/pkg" && apt-get "${APT_OPTS[@]}" download -qq "mesa-vulkan-drivers=$VERSION")
  dpkg-deb -x "$TMP"/pkg/mesa-vulkan-drivers_*.deb "$TMP/x"

  LIB="$(find "$TMP/x" -name libvulkan_lvp.so | head -n1)"
  JSON="$(find "$TMP/x" -name 'lvp_icd*.json' | head -n1)"
  [ -n "$LIB" ] && [ -n "$JSON" ] || { log "libvulkan_lvp.so or lvp_icd json missing in the package"; exit 1; }
  API_VERSION="$(grep -oE '"api_version"[[:space:]]*:[[:space:]]*"[^"]+"' "$JSON" | sed -E 's/.*"([^"]+)"$/\1/')"

  mkdir -p "$VK_DIR"
  cp "$LIB" "$VK_DIR/libvulkan_lvp.so"
  printf '{"file_format_version":"1.0.1","ICD":{"library_path":"%s","api_version":"%s","library_arch":"64"}}\n' \
    "$VK_DIR/libvulkan_lvp.so" "$API_VERSION" >"$ICD.tmp"
  mv "$ICD.tmp" "$ICD"
fi

echo "$ICD"
