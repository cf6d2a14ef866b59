#!/usr/bin/env bash
# Fuzz the dataset parsers (src/data/) with cargo-fuzz / libFuzzer, then
# minimise the corpus. See docs/ROBUSTNESS.md, "Parser fuzzing".
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# runs each target (default: idx cifar archive load_files) for SECONDS
# (default 60) on one core, growing fuzz/corpus/<target>/, then minimises that
# folder with `cargo fuzz cmin`. Crashes land in fuzz/artifacts/<target>/ and
# make the script fail; libFuzzer's log of each run is kept beside them as
# fuzz/artifacts/<target>.log. To reproduce a crash:
#   (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run <target> <file>)
# The corpus is replayed by every `cargo test` (tests/fuzz_corpus.rs).
#
# Needs cargo-fuzz (installed here if missing) and a C++ compiler. cargo-fuzz
# wants nightly Rust for its sanitizer flags; RUSTC_BOOTSTRAP=1 lets stable
# accept them. The fuzz crate does not depend on reslab (no Burn): it includes
# src/data/ and src/rng.rs by path, so the build takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx cifar archive load_files)

export CARGO_TARGET_DIR="${RESLAB_FUZZ_TARGET_DIR:-$HOME/.cache/reslab/target-fuzz}"
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked || cargo install cargo-fuzz
for t in "${targets[@]}"; do
  if [ -z "$(ls -A "corpus/$t" 2>/dev/null)" ]; then
    echo "fuzz/corpus/$t is empty: writing the seeds (fuzz/make-seeds.py)" >&2
    python3 make-seeds.py
  fi
done

nice -n 10 cargo fuzz build

# -max_len: a little above each target's largest seed (fuzz/make-seeds.py);
# small inputs keep the runs fast and the corpus small.
max_len() {
  case "$1" in
    idx) echo 4096 ;;
    load_files) echo 16384 ;;
    *) echo 12288 ;;
  esac
}

mkdir -p artifacts
failed=0
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s" >&2
  before=$(ls "corpus/$t" | wc -l)
  # -malloc_limit_mb: no input of at most -max_len bytes can legitimately need
  # one allocation this big (gzip expands at most ~1032x), so a larger one
  # means a size taken from a header unchecked: libFuzzer reports it as a crash.
  # -jobs=1 -workers=1: one core; libFuzzer then logs to fuzz-0.log.
  rm -f fuzz-0.log
  if ! nice -n 10 cargo fuzz run "$t" -- \
      -max_total_time="$secs" -max_len="$(max_len "$t")" -malloc_limit_mb=128 -rss_limit_mb=2048 \
      -print_final_stats=1 -jobs=1 -workers=1; then
    failed=1
  fi
  mv fuzz-0.log "artifacts/$t.log"
  if grep -qE 'ERROR: libFuzzer|panicked|deadly signal|SUMMARY: ' "artifacts/$t.log"; then
    echo "== $t: CRASH, see fuzz/artifacts/$t.log and fuzz/artifacts/$t/" >&2
    failed=1
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb|new_units_added)' "artifacts/$t.log" | awk '!seen[$0]++' >&2 || true
  grep -E '^#[0-9]+' "artifacts/$t.log" | tail -n 1 >&2 || true
  echo "== $t: corpus $before -> $(ls "corpus/$t" | wc -l) files before minimising" >&2
done
[ "$failed" = 0 ] || { echo "fuzzing found crashes: not minimising" >&2; exit 1; }

for t in "${targets[@]}"; do
  nice -n 10 cargo fuzz cmin "$t" -- -max_len="$(max_len "$t")" -malloc_limit_mb=128 2>&1 \
    | grep -E 'MERGE-OUTER: [0-9]+ new files' >&2 || true
  echo "== $t: corpus $(ls "corpus/$t" | wc -l) files, $(du -sh "corpus/$t" | cut -f1)" >&2
done
