#!/usr/bin/env bash
# Builds the wasm module into pkg/ and vendors the page's libraries into www/vendor/.
#   RESLAB_WASM_OPT=0  skip wasm-opt (faster; the module is ~2x larger)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${RESLAB_WASM_TARGET_DIR:-$HOME/.cache/reslab/target-wasm}"

say() { printf '\033[1m[build-web]\033[0m %s\n' "$*" >&2; }

say "cargo build (wasm32, profile wasm-release) — the first build of Burn takes a long while"
cargo build --lib --profile wasm-release --target wasm32-unknown-unknown --no-default-features
wasm="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/reslab.wasm"

say "wasm-bindgen → pkg/"
rm -rf pkg.tmp && mkdir -p pkg.tmp
wasm-bindgen --target web --no-typescript --out-dir pkg.tmp "$wasm"
if [ "${RESLAB_WASM_OPT:-1}" != 0 ]; then
  # A current binaryen from npm: Debian's wasm-opt (v108) breaks Burn's module.
  # It takes minutes on 2 cores, so its output is cached by input hash.
  cache="$HOME/.cache/reslab/wasm-opt"; mkdir -p "$cache"
  key=$(sha256sum pkg.tmp/reslab_bg.wasm | cut -c1-32)
  if [ -f "$cache/$key.wasm" ]; then
    say "wasm-opt -Oz (cached)"
  else
    say "wasm-opt -Oz (several minutes)"
    node node_modules/binaryen/bin/wasm-opt -Oz --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
      pkg.tmp/reslab_bg.wasm -o "$cache/$key.tmp" && mv "$cache/$key.tmp" "$cache/$key.wasm"
    ls -t "$cache"/*.wasm | tail -n +6 | xargs -r rm -f   # keep the last five
  fi
  cp "$cache/$key.wasm" pkg.tmp/reslab_bg.wasm
fi
rm -rf pkg && mv pkg.tmp pkg
raw=$(stat -c %s pkg/reslab_bg.wasm); gz=$(gzip -9 -c pkg/reslab_bg.wasm | wc -c)
say "pkg/reslab_bg.wasm: $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip"

node scripts/vendor.mjs
