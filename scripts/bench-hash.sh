#!/usr/bin/env bash
# DVC-style hashing, side by side in one run (issue 3's targets):
#   1. one 1 GiB file: housectl data hash vs md5sum (throughput ratio, max RSS)
#   2. 10,000 x 4 KiB files: housectl data hash vs `find | xargs md5sum` and
#      a Python hashlib walk doing DVC's pattern (scripts/dvc_pattern_hash.py)
#   3. data status of an unchanged tracked tree vs the first hash of it, for
#      the 10k tree and for 1 GiB in 64 files
# Data is generated under $BENCH_DIR (default: a temp dir), never in the repo.
# Usage: scripts/bench-hash.sh BIN
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps-debian.sh" hyperfine python3
work=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$work"; cd "$work"
json() { hyperfine -N --export-json "$1" "${@:2}" >&2; }
mean() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(r[int(sys.argv[2])]['mean'])" "$@"; }

echo "== generating data in $work" >&2
[ -f big.bin ] || head -c 1073741824 /dev/urandom > big.bin
if [ ! -d tree ]; then
  python3 - <<'PY'
import os
for d in range(100):
    os.makedirs(f"tree/d{d:02d}", exist_ok=True)
    for f in range(100):
        with open(f"tree/d{d:02d}/f{f:02d}.bin", "wb") as fh:
            fh.write(os.urandom(4096))
PY
fi
if [ ! -d wide ]; then
  mkdir wide; for i in $(seq -w 1 64); do head -c 16777216 /dev/urandom > "wide/part$i.bin"; done
fi
cat big.bin tree/*/* wide/* > /dev/null   # warm the page cache for every contender

json big.json --warmup 1 --runs 5 "md5sum big.bin" "$bin data hash big.bin"
rss=$( { /usr/bin/time -f %M "$bin" data hash big.bin >/dev/null; } 2>&1 )
json tree.json --warmup 2 --runs 10 "$bin data hash tree" "sh -c 'find tree -type f -print0 | xargs -0 md5sum >/dev/null'" "python3 $here/dvc_pattern_hash.py tree"

status_ratio() { # $1 = directory to track
  rm -rf "repo-$1"; mkdir "repo-$1"; cp -r "$1" "repo-$1/"
  (cd "repo-$1" && "$bin" init >/dev/null 2>&1 && "$bin" data add "$1" >/dev/null 2>&1)
  (cd "repo-$1" && json "../status-$1.json" --warmup 2 --runs 10 \
     --prepare "rm -f .dvc/tmp/housectl/state" "$bin data status" )
  (cd "repo-$1" && "$bin" data status >/dev/null && json "../warm-$1.json" --warmup 3 --runs 20 "$bin data status")
}
status_ratio tree
status_ratio wide

python3 - "$rss" <<'PY'
import json, sys
def m(f, i=0): return json.load(open(f))["results"][i]["mean"]
gib = 1024**3
md5sum, hc = m("big.json", 0), m("big.json", 1)
print(f"1 GiB file: housectl {gib/hc/1e6:.0f} MB/s, md5sum {gib/md5sum/1e6:.0f} MB/s -> {md5sum/hc:.2f}x md5sum's throughput (target >= 0.9); max RSS {int(sys.argv[1])/1024:.1f} MiB")
h, x, p = m("tree.json", 0), m("tree.json", 1), m("tree.json", 2)
print(f"10,000 x 4 KiB: housectl {h*1e3:.0f} ms, find|xargs md5sum {x*1e3:.0f} ms ({x/h:.2f}x), python DVC pattern {p*1e3:.0f} ms ({p/h:.1f}x; target >= 3)")
for name in ("tree", "wide"):
    cold, warm = m(f"status-{name}.json"), m(f"warm-{name}.json")
    label = "10,000 x 4 KiB" if name == "tree" else "1 GiB in 64 files"
    print(f"data status, {label}: first (no state) {cold*1e3:.0f} ms, unchanged {warm*1e3:.0f} ms -> {cold/warm:.1f}x")
PY
