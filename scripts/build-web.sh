#!/usr/bin/env bash
# Builds the two wasm engines into pkg/ and vendors the page's libraries into www/vendor/.
#   pkg/          the full engine: WebGPU and the CPU backend on one thread
#   pkg/threads/  the CPU-only engine whose Flex backend runs on a pool of Web
#                 Workers (shared memory: used when the page is cross-origin
#                 isolated and trains on the CPU; www/threads.js)
#   RESLAB_WASM_OPT=0  skip wasm-opt (faster; the modules are ~2x larger)
#   RESLAB_BUILD_PARALLEL=0  compile the two engines one after the other
#
#   scripts/build-web.sh --optimise-later   (what ./scripts/serve uses)
#     when wasm-opt's output for a module is not cached yet, pkg/ first gets
#     the module as compiled, and wasm-opt runs in the background, replacing
#     it in pkg/ when done: the page can be opened minutes sooner on a first
#     build, and loads the optimised module from the next reload on.
#
#   scripts/build-web.sh --dist DIR
#     also writes DIR: the static site, which any static host serves as the
#     whole app (scripts/dist.mjs: the page, sw.js, www/, pkg/, the samples,
#     nothing else). With --dist the engines are rebuilt only if a source
#     (src/, crates/, Cargo.toml, Cargo.lock, .cargo/) is newer than pkg/;
#     otherwise pkg/ is copied as it is.
set -euo pipefail
dist="" later=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dist) [ $# -ge 2 ] || { echo "build-web.sh: --dist needs a folder" >&2; exit 2; }
      dist=$(realpath -m -- "$2"); shift 2 ;;
    --dist=*) dist=$(realpath -m -- "${1#--dist=}"); shift ;;
    --optimise-later) later=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-web.sh: unknown argument $1 (usage: scripts/build-web.sh [--dist DIR] [--optimise-later])" >&2; exit 2 ;;
  esac
done
cd "$(dirname "$0")/.."
# A site to host is always optimised.
[ -z "$dist" ] || later=0
target_dir="${RESLAB_WASM_TARGET_DIR:-$HOME/.cache/reslab/target-wasm}"

say() { printf '\033[1m[build-web]\033[0m %s\n' "$*" >&2; }

# wasm-opt -Oz with a current binaryen from npm (Debian's v108 breaks Burn's
# module). It takes minutes on 2 cores, so its output is cached by input hash.
wasm_opt_cache="$HOME/.cache/reslab/wasm-opt"
deferred=()   # "<module.wasm> <cache key> <extra flags…>" left for the background (--optimise-later)
opt_key() { # <module.wasm> <extra flags…>: the cache key of its optimised output
  local wasm=$1; shift
  local key; key=$(sha256sum "$wasm" | cut -c1-32)
  [ $# = 0 ] || key="$key-$(echo "$*" | sha256sum | cut -c1-8)"
  echo "$key"
}
run_wasm_opt() { # <module.wasm> <key> <extra flags…>: writes the cache entry
  local wasm=$1 key=$2; shift 2
  local tmp="$wasm_opt_cache/$key.$$.$RANDOM.tmp"   # another build may be optimising the same module
  node node_modules/binaryen/bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue "$@" \
    "$wasm" -o "$tmp" && mv "$tmp" "$wasm_opt_cache/$key.wasm"
  ls -t "$wasm_opt_cache"/*.wasm | tail -n +9 | xargs -r rm -f   # keep the last eight
}
optimise() { # <module.wasm> <extra wasm-opt flags…>
  local wasm=$1; shift
  [ "${RESLAB_WASM_OPT:-1}" != 0 ] || return 0
  mkdir -p "$wasm_opt_cache"
  local key; key=$(opt_key "$wasm" "$@")
  local name; name="$(basename "$(dirname "$wasm")")/$(basename "$wasm")"
  if [ -f "$wasm_opt_cache/$key.wasm" ]; then
    say "wasm-opt -Oz $name (cached)"
  elif [ "$later" = 1 ]; then
    deferred+=("$wasm $key $*")
    return 0
  else
    say "wasm-opt -Oz $name (several minutes)"
    run_wasm_opt "$wasm" "$key" "$@"
  fi
  cp "$wasm_opt_cache/$key.wasm" "$wasm"
}

# Whether pkg/ holds both engines, built after every source was last changed
# (a build dates them to when it started: a source saved during it is newer).
pkg_current() {
  local f
  for f in pkg/reslab.js pkg/reslab_bg.wasm pkg/threads/reslab.js pkg/threads/reslab_bg.wasm; do
    [ -f "$f" ] || return 1
  done
  [ -z "$(find src crates Cargo.toml Cargo.lock .cargo -path '*/target' -prune -o -type f \
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
cores=$(nproc 2>/dev/null || echo 1)
mt_target_dir="${RESLAB_WASM_MT_TARGET_DIR:-$HOME/.cache/reslab/target-wasm-mt}"
logs="$HOME/.cache/reslab/logs"
mkdir -p "$logs"

# How long this takes, said before it starts (README, "First start": measured
# with scripts/first-start.mjs on a 2-core machine).
if [ ! -f "$target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm" ] ||
  [ ! -f "$mt_target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm" ]; then
  if [ "$later" = 1 ]; then then_opt="; wasm-opt then runs in the background, after the server is up"
  else then_opt=", then about 8 min of wasm-opt"; fi
  say "first build of the two engines (Burn compiled for wasm twice): about 11 min on a 2-core machine, less with more cores (this one has $cores)$then_opt"
else
  say "rebuilding the engines: seconds when no source changed, 1-3 min after a change"
fi

# The full engine: WebGPU and the CPU backend on one thread.
build_full() {
  CARGO_TARGET_DIR="$target_dir" \
    cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features --features fusion
}

# The threaded engine. Shared memory needs std itself built with atomics, so
# std is rebuilt from rust-src (`-Z build-std`, allowed on the stable
# toolchain by RUSTC_BOOTSTRAP; the same flags wasm-bindgen-rayon documents).
# Without `wgpu`: its browser types (JS handles) cannot be shared between
# threads, and a CPU-only module is a third of the size. The linker is told to
# make the memory shared and imported (this rustc does not add that for
# atomics by itself), and to export the thread-local storage hooks
# wasm-bindgen initialises each thread with. The memory may grow to 4 GiB, as
# the single-threaded engine's can (shared memory must declare a maximum).
build_threads() {
  local link="" a
  for a in --shared-memory --import-memory --max-memory=4294967296 \
    --export=__wasm_init_tls --export=__tls_size --export=__tls_align --export=__tls_base; do
    link="$link -C link-arg=$a"
  done
  CARGO_TARGET_DIR="$mt_target_dir" RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="-C target-feature=+simd128,+atomics,+bulk-memory$link" \
    cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features --features threads \
    -Z build-std=panic_abort,std
}

# About how many crates each build compiles when nothing is cached (for the
# progress line; std's own crates added for the threaded one).
crates() { # <features>
  cargo tree --target wasm32-unknown-unknown --no-default-features --features "$1" -e normal,build --prefix none 2>/dev/null |
    sed 's/ (\*)$//; s/ (proc-macro)$//' | sort -u | wc -l
}
compiled() { grep -c '^ *Compiling ' "$1" 2>/dev/null || true; }

mmss() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

if [ "$cores" -gt 1 ] && [ "${RESLAB_BUILD_PARALLEL:-1}" != 0 ]; then
  # Both at once, their output in log files and one progress line for both.
  # On 2 cores this takes as long as one after the other (BENCHMARKS.md,
  # "First start"); with more cores, the other build can use the cores one
  # build leaves idle while a single large crate compiles.
  say "cargo build: the full engine and the threaded CPU engine, side by side (logs: $logs/)"
  full_total=$(crates fusion); threads_total=$(( $(crates threads) + 20 ))   # downloads the crates on a first build
  build_full >"$logs/engine.log" 2>&1 &
  full_pid=$!
  build_threads >"$logs/threads-engine.log" 2>&1 &
  threads_pid=$!
  trap 'kill $full_pid $threads_pid 2>/dev/null' EXIT
  last=0
  while kill -0 "$full_pid" 2>/dev/null || kill -0 "$threads_pid" 2>/dev/null; do
    sleep 1
    now=$(date +%s)
    if [ $((now - last)) -ge 30 ] || [ -t 2 ]; then
      line="$(mmss $((now - started))): full engine $(compiled "$logs/engine.log")/~$full_total crates, threaded engine $(compiled "$logs/threads-engine.log")/~$threads_total"
      if [ -t 2 ]; then printf '\r\033[K\033[1m[build-web]\033[0m %s' "$line" >&2; else say "$line"; fi
      last=$now
    fi
  done
  [ -t 2 ] && printf '\n' >&2
  trap - EXIT
  failed=0
  wait "$full_pid" || { failed=1; say "error: the full engine did not build:"; tail -n 40 "$logs/engine.log" >&2; }
  wait "$threads_pid" || { failed=1; say "error: the threaded engine did not build:"; tail -n 40 "$logs/threads-engine.log" >&2; }
  [ "$failed" = 0 ] || { say "whole logs: $logs/engine.log, $logs/threads-engine.log"; exit 1; }
  say "compiled both engines in $(mmss $(($(date +%s) - started)))"
else
  say "cargo build: the full engine (wasm32, profile wasm-release)"
  build_full
  say "cargo build: the threaded CPU engine (std rebuilt with atomics)"
  build_threads
fi

say "wasm-bindgen → pkg/"
wasm-bindgen --target web --no-typescript --out-dir pkg.tmp "$target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm"
# wasm-ld names an export wrapper "<export>.command_export" when it links the
# module command-style, re-running every static constructor on each call from
# JS (src/platform.rs, run_static_constructors): on WebGPU that was ~45 % of the worker's time.
if grep -q 'command_export' pkg.tmp/reslab_bg.wasm; then
  say "error: pkg/reslab_bg.wasm re-runs its static constructors on every export call (see run_static_constructors in src/platform.rs)"
  exit 1
fi
say "wasm-bindgen → pkg/threads/"
wasm-bindgen --target web --no-typescript --out-dir pkg.tmp/threads "$mt_target_dir/wasm32-unknown-unknown/wasm-release/reslab.wasm"
# The full engine without merge-similar-functions (which folds functions
# alike into one parametrised body): with it, gemm's micro-kernel took ~70 %
# longer in a profile and a CPU training step on one thread ~25-35 % (BENCHMARKS.md,
# "the CPU kernels as a backend extension"). Skipping it costs ~32 KiB gzip.
optimise pkg.tmp/reslab_bg.wasm --skip-pass=merge-similar-functions
optimise pkg.tmp/threads/reslab_bg.wasm --enable-threads

touch -d "@$started" pkg.tmp/reslab_bg.wasm pkg.tmp/threads/reslab_bg.wasm
rm -rf pkg && mv pkg.tmp pkg
size pkg/reslab_bg.wasm
size pkg/threads/reslab_bg.wasm

node scripts/vendor.mjs
[ -z "$dist" ] || node scripts/dist.mjs "$dist"

# --optimise-later: wasm-opt for the modules not in its cache, in the
# background at low priority (the page may be training meanwhile), each
# optimised module moved into pkg/ in one rename, and only if pkg/ still holds
# the module it was made from (a newer build may have replaced it).
if [ ${#deferred[@]} -gt 0 ]; then
  say "pkg/ holds the modules as compiled (about twice the size, the same code); wasm-opt -Oz is optimising them in the background (about 7 min on 2 cores) and replaces them in pkg/ when done; a reload then loads them"
  (
    t0=$(date +%s)
    for d in "${deferred[@]}"; do
      read -r wasm key flags <<<"$d"
      wasm=pkg/${wasm#pkg.tmp/}
      work=$(mktemp "$wasm_opt_cache/input.XXXXXX")
      cp "$wasm" "$work"
      # shellcheck disable=SC2086
      nice -n 10 bash -c "$(declare -f run_wasm_opt); wasm_opt_cache='$wasm_opt_cache'; run_wasm_opt '$work' '$key' $flags" \
        >>"$logs/wasm-opt.log" 2>&1 || { rm -f "$work"; say "wasm-opt failed for $wasm ($logs/wasm-opt.log); pkg/ keeps the module as compiled"; exit 1; }
      rm -f "$work"
      [ "$(opt_key "$wasm" $flags)" = "$key" ] || { say "pkg/ was rebuilt meanwhile: $wasm left as it is"; continue; }
      cp "$wasm_opt_cache/$key.wasm" "$wasm.opt.tmp"
      touch -r "$wasm" "$wasm.opt.tmp"
      mv "$wasm.opt.tmp" "$wasm"
    done
    say "optimised modules in pkg/ (wasm-opt took $(mmss $(($(date +%s) - t0)))): reload the page to load them"
    size pkg/reslab_bg.wasm
    size pkg/threads/reslab_bg.wasm
  ) &
fi
