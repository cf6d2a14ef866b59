#!/usr/bin/env bash
# Installs what ResLab's build and tests need, skipping what is already there:
# the wasm target and std's sources, wasm-bindgen-cli (pinned to the crate's wasm-bindgen),
# npm packages (uPlot, playwright-core, binaryen), and Debian's Chromium +
# ChromeDriver for the browser tests (with `--browser`).
# `--wasm-pack`: also wasm-pack, pinned (README, "wasm-pack"); nothing else
# uses it (scripts/build-web.sh and scripts/test do not).
# `--check`: install nothing; name what is missing and exit 1 if anything is
# (scripts/build-web.sh runs this first).
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130   # keep equal to the wasm-bindgen pin in Cargo.toml
WASM_PACK_VERSION=0.15.1
need_browser=0 check=0 need_wasm_pack=0
for a in "$@"; do
  case "$a" in
    --browser) need_browser=1 ;;
    --wasm-pack) need_wasm_pack=1 ;;
    --check) check=1 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }
missing=()
# want <what> : with --check, note it as missing and return 1 (skip the
# install); otherwise say it is being installed and return 0.
want() {
  if [ "$check" = 1 ]; then missing+=("$1"); return 1; fi
  say "installing $1"
}

if ! command -v cargo >/dev/null; then
  echo "Rust is required (https://rustup.rs): cargo not found" >&2; exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  want "the wasm32-unknown-unknown target" && rustup target add wasm32-unknown-unknown
fi
# The threaded CPU engine rebuilds std with atomics (scripts/build-web.sh), from rust-src.
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  want "the rust-src component (std's sources, for the threaded wasm build)" && rustup component add rust-src
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION"; then
  # Not --locked: a dependency pinned in its lock file was yanked from crates.io.
  want "wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)" && cargo install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION"
fi
if [ "$need_wasm_pack" = 1 ] && ! wasm-pack --version 2>/dev/null | grep -q " $WASM_PACK_VERSION\$"; then
  # It finds the wasm-bindgen above on PATH (same version as the lock file's), so it downloads nothing.
  want "wasm-pack $WASM_PACK_VERSION (a few minutes, once)" && cargo install wasm-pack --version "=$WASM_PACK_VERSION" --locked
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  want "the npm packages (uPlot, playwright-core, binaryen)" && npm ci --no-audit --no-fund
fi
if [ "$need_browser" = 1 ] && { [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; }; then
  if want "Debian's chromium and chromium-driver"; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "not installed:"
  for m in "${missing[@]}"; do say "  - $m"; done
  exit 1
fi
