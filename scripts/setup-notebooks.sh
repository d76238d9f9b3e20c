#!/usr/bin/env bash
# Installs what running the teaching notebooks in examples/notebooks headlessly needs, on Debian bookworm as root:
#   - Jupyter from Debian's packages: nbconvert (executes a notebook: `jupyter nbconvert --to notebook --execute`)
#     and jupyter-client (kernel specs, the messaging the kernel speaks);
#   - the Deno TypeScript kernel: the `deno` npm package (its prebuilt binary ships inside the package, in the
#     optional dependency @deno/linux-x64-glibc), registered with Jupyter by `deno jupyter --install`.
# Deno runs the notebooks' TypeScript as it is (top-level await, ESM, the workspace's .ts sources through
# examples/notebooks/deno.json) and imports the packages pnpm installed, so run `npx -y pnpm@10.34.8 install` too.
#
# Idempotent: what is already installed is left alone (a second run takes a few seconds). Then:
#   jupyter nbconvert --to notebook --execute --output-dir /tmp examples/notebooks/01-autograd.ipynb
set -euo pipefail

DENO_VERSION=2.9.6
APT_PACKAGES=(jupyter-nbconvert jupyter-client)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-notebooks: run as root (it installs Debian packages and a global npm package)" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-notebooks: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

installed_deno() { deno --version 2>/dev/null | sed -n 's/^deno \([0-9.]*\).*/\1/p'; }
if [ "$(installed_deno)" != "$DENO_VERSION" ]; then
  echo "setup-notebooks: npm install -g deno@$DENO_VERSION"
  npm install -g --no-fund --no-audit "deno@$DENO_VERSION" >/dev/null
fi
if [ "$(installed_deno)" != "$DENO_VERSION" ]; then
  echo "setup-notebooks: 'deno --version' does not report $DENO_VERSION after the install (PATH is $PATH)" >&2
  exit 1
fi

# Registers (or refreshes) the kernel spec 'deno' for this user; Jupyter looks there first.
deno jupyter --install --force >/dev/null 2>&1 || deno jupyter --install >/dev/null

echo "setup-notebooks: ready: nbconvert $(jupyter nbconvert --version 2>/dev/null), deno $(installed_deno), kernels: $(jupyter kernelspec list --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(Object.keys(JSON.parse(s).kernelspecs).join(", ")))')"
