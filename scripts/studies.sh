#!/usr/bin/env bash
# Run the studies at their classroom budget on the CPU backend and write, per
# study, what docs/STUDIES.md shows: the result JSONs, the results table with
# the paper's numbers and the verdict on each claim (report.md), and the
# curves (curves.svg).
#
#   scripts/studies.sh                      # every study, into docs/studies/
#   scripts/studies.sh degradation depth    # only these
#   OUT=/tmp/studies scripts/studies.sh     # somewhere else
#   REPORT_ONLY=1 scripts/studies.sh        # redo tables and curves from the runs already there
#   BIN=path/to/reslab scripts/studies.sh   # a binary already built
#   OWN_IMAGES=path/to/class-folders OWN_IMAGES_SIZE=32 scripts/studies.sh own-images
#                                           # the study on your own images, on those pictures
#                                           # (without OWN_IMAGES: on the default dataset's sample)
#
# Runs use the built-in samples, the seed in each preset (1) and 2 threads
# unless RAYON_NUM_THREADS says otherwise; on this project's 2-core machine
# all of them took about 55 minutes (REPORT_ONLY: seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-docs/studies}
if [ -z "${BIN:-}" ]; then
    BIN=target/release/reslab
    cargo build --release --quiet
fi
ids=("$@")
if [ ${#ids[@]} -eq 0 ]; then
    mapfile -t ids < <("$BIN" presets | awk '{print $1}')
fi

for id in "${ids[@]}"; do
    dir="$OUT/$id"
    if [ -z "${REPORT_ONLY:-}" ]; then
        rm -rf "$dir/runs"
        mkdir -p "$dir/runs"
        echo "== $id: training ($(date +%T))" >&2
        data=()
        if [ "$id" = own-images ] && [ -n "${OWN_IMAGES:-}" ]; then
            data=(--data "$OWN_IMAGES" --image-size "${OWN_IMAGES_SIZE:-32}")
        fi
        "$BIN" train --preset "$id" --budget classroom --out "$dir/runs" --quiet "${data[@]}"
    fi
    "$BIN" report "$dir/runs" --preset "$id" > "$dir/report.md"
    python3 scripts/study-curves.py "$dir/runs" --svg "$dir/curves.svg" --title "$("$BIN" presets | awk -v id="$id" '$1 == id {$1 = ""; sub(/^ +/, ""); print}')"
    echo "== $id: $dir/report.md, $dir/curves.svg" >&2
done

# docs/STUDIES.md quotes each study's report between <!-- report:ID --> and
# <!-- /report -->: put the fresh ones there.
if [ "$OUT" = docs/studies ]; then
    python3 - <<'PY'
import os, re
path = "docs/STUDIES.md"
doc = open(path).read()
def fill(m):
    report = os.path.join("docs/studies", m.group(1), "report.md")
    if not os.path.exists(report):
        return m.group(0)
    return f"<!-- report:{m.group(1)} -->\n{open(report).read().strip()}\n<!-- /report -->"
open(path, "w").write(re.sub(r"<!-- report:([\w-]+) -->.*?<!-- /report -->", fill, doc, flags=re.S))
PY
    echo "== docs/STUDIES.md: reports updated" >&2
fi
