#!/usr/bin/env bash
# Builds the two wasm engines into pkg/ and vendors the page's libraries into www/vendor/.
#   pkg/          the full engine: WebGPU and the CPU backend on one thread
#   pkg/threads/  the CPU-only engine whose Flex backend runs on a pool of Web
#                 Workers (shared memory: used when the page is cross-origin
#                 isolated and trains on the CPU; www/threads.js)
#   RESLAB_WASM_OPT=0  skip wasm-opt (faster; the modules are ~2x larger)
#
#   scripts/build-web.sh --dist DIR
#     also writes DIR: the static site, which any static host serves as the
#     whole app (scripts/dist.mjs: the page, sw.js, www/, pkg/, the samples,
#     nothing else). With --dist the engines are rebuilt only if a source
#     (src/, vendor/, Cargo.toml, Cargo.lock, .cargo/) is newer than pkg/;
#     otherwise pkg/ is copied as it is.
set -euo pipefail
dist=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) [ $# -ge 2 ] || { echo "build-web.sh: --dist needs a folder" >&2; exit 2; }
      dist=$(realpath -m -- "$2"); shift 2 ;;
    --dist=*) dist=$(realpath -m -- "${1#--dist=}"); shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-web.sh: unknown argument $1 (usage: scripts/build-web.sh [--dist DIR])" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
target_dir="${RESLAB_WASM_TARGET_DIR:-$HOME/.cache/reslab/target-wasm}"

say() { printf '\033[1m[build-web]\033[0m %s\n' "$*" >&2; }

# wasm-opt -Oz with a current binaryen from npm (Debian's v108 breaks Burn's
# module). It takes minutes on 2 cores, so its output is cached by input hash.
optimise() { # <module.wasm> <extra wasm-opt flags…>
  local wasm=$1; shift
  [ "${RESLAB_WASM_OPT:-1}" != 0 ] || return 0
  local cache="$HOME/.cache/reslab/wasm-opt" key
  mkdir -p "$cache"
  key=$(sha256sum "$wasm" | cut -c1-32)
  [ $# = 0 ] || key="$key-$(echo "$*" | sha256sum | cut -c1-8)"
  if [ -f "$cache/$key.wasm" ]; then
    say "wasm-opt -Oz $(basename "$(dirname "$wasm")")/$(basename "$wasm") (cached)"
  else
    say "wasm-opt -Oz $(basename "$(dirname "$wasm")")/$(basename "$wasm") (several minutes)"
    node node_modules/binaryen/bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue "$@" \
      "$wasm" -o "$cache/$key.tmp" && mv "$cache/$key.tmp" "$cache/$key.wasm"
    ls -t "$cache"/*.wasm | tail -n +9 | xargs -r rm -f   # keep the last eight
  fi
  cp "$cache/$key.wasm" "$wasm"
}

# Whether pkg/ holds both engines, built after every source was last changed
# (a build dates them to when it started: a source saved during it is newer).
pkg_current() {
  local f
  for f in pkg/reslab.js pkg/reslab_bg.wasm pkg/threads/reslab.js pkg/threads/reslab_bg.wasm; do
    [ -f "$f" ] || return 1
  done
  [ -z "$(find src vendor Cargo.toml Cargo.lock .cargo -path '*/target' -prune -o -type f \
    \( -newer pkg/reslab_bg.wasm -o -newer pkg/threads/reslab_bg.wasm \) -print -quit 2>/dev/null)" ]
}

if [ -n "$dist" ] && pkg_current; then
  say "pkg/ is newer than every source: not rebuilt"
  node scripts/vendor.mjs
  node scripts/dist.mjs "$dist"
  exit 0
fi

size() { # <module.wasm>
  local raw gz
  raw=$(stat -c %s "$1"); gz=$(gzip -9 -c "$1" | wc -c)
  say "$1: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip"
}

# What this build needs is what scripts/setup.sh installs: said up front and
# by name, rather than as a failure minutes into the build.
if ! bash scripts/setup.sh --check; then
  say "error: run bash scripts/setup.sh first (./scripts/serve and ./scripts/test run it themselves)"
  exit 1
fi

rm -rf pkg.tmp && mkdir -p pkg.tmp
started=$(date +%s)

say "cargo build: the full engine (wasm32, profile wasm-release) — the first build of Burn takes a long while"
CARGO_TARGET_DIR="$target_dir" \
  cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features --features wgpu
say "wasm-bindgen → pkg/"
wasm-bindgen --target web --no-typescript --out-dir pkg.tmp "$target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm"
# wasm-ld names an export wrapper "<export>.command_export" when it links the
# module command-style, re-running every static constructor on each call from
# JS (src/platform.rs, run_static_constructors): on WebGPU that was ~45 % of the worker's time.
if grep -q 'command_export' pkg.tmp/reslab_bg.wasm; then
  say "error: pkg/reslab_bg.wasm re-runs its static constructors on every export call (see run_static_constructors in src/platform.rs)"
  exit 1
fi
optimise pkg.tmp/reslab_bg.wasm

# The threaded engine. Shared memory needs std itself built with atomics, so
# std is rebuilt from rust-src (`-Z build-std`, allowed on the stable
# toolchain by RUSTC_BOOTSTRAP; the same flags wasm-bindgen-rayon documents).
# Without `wgpu`: its browser types (JS handles) cannot be shared between
# threads, and a CPU-only module is a third of the size. The linker is told to
# make the memory shared and imported (this rustc does not add that for
# atomics by itself), and to export the thread-local storage hooks
# wasm-bindgen initialises each thread with. The memory may grow to 4 GiB, as
# the single-threaded engine's can (shared memory must declare a maximum).
say "cargo build: the threaded CPU engine (std rebuilt with atomics)"
mt_target_dir="${RESLAB_WASM_MT_TARGET_DIR:-$HOME/.cache/reslab/target-wasm-mt}"
link=""
for a in --shared-memory --import-memory --max-memory=4294967296 \
  --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base; do
  link="$link -C link-arg=$a"
done
CARGO_TARGET_DIR="$mt_target_dir" RUSTC_BOOTSTRAP=1 \
  RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory$link" \
  cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features --features threads \
  -Z build-std=panic_abort,std
say "wasm-bindgen → pkg/threads/"
wasm-bindgen --target web --no-typescript --out-dir pkg.tmp/threads "$mt_target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm"
optimise pkg.tmp/threads/reslab_bg.wasm --enable-threads

touch -d "@$started" pkg.tmp/reslab_bg.wasm pkg.tmp/threads/reslab_bg.wasm
rm -rf pkg && mv pkg.tmp pkg
size pkg/reslab_bg.wasm
size pkg/threads/reslab_bg.wasm

node scripts/vendor.mjs
[ -z "$dist" ] || node scripts/dist.mjs "$dist"
