#!/usr/bin/env bash
# CLI start-up: `housectl version` against the least a Python CLI of the
# DVC/MLflow/scikit-learn stack does before any work (start the interpreter
# and import scikit-learn), measured by hyperfine in one run.
# Usage: scripts/bench-startup.sh BIN
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps-debian.sh" hyperfine python3-sklearn
out=$(mktemp); trap 'rm -f "$out"' EXIT
hyperfine -N --warmup 20 --runs 200 --export-json "$out" \
  "$bin version" \
  "/usr/bin/python3 -c 'import sklearn'" >&2
python3 - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
h, p = r[0], r[1]
print(f"startup: housectl version mean {h['mean']*1e3:.2f} ms (median {h['median']*1e3:.2f} ms, max {h['max']*1e3:.2f} ms); "
      f"python3 -c 'import sklearn' mean {p['mean']*1e3:.1f} ms; ratio {p['mean']/h['mean']:.0f}x")
PY
