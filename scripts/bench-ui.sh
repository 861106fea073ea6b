#!/usr/bin/env bash
# `make bench-ui`: housectl ui against the figures of a real MLflow 2.17.2
# server (2 cores, SQLite), measured here by hand with the same load program
# (scripts/mlflowload; see docs/BENCHMARKS.md for those runs): start-up to
# the first 200 on /health, idle and loaded RSS, logging 10,000 runs (10
# params, 5 metrics; the fluent client's five requests each, 4 clients), a
# filtered and ordered search_runs over them, and the UI's runs page with
# the same filter.
# Usage: scripts/bench-ui.sh BIN [RUNS]
set -euo pipefail
bin=$(realpath "$1"); runs=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
work=$(mktemp -d); trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$repo" && go build -o "$work/mlflowload" ./scripts/mlflowload)
load="$work/mlflowload"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
cd "$work"
"$bin" init >/dev/null 2>&1
echo "== start-up (housectl ui, an empty project)"
"$load" -url "$url" -cmd "$bin ui --addr 127.0.0.1:$port" -repeat 10 startup
"$bin" ui --addr "127.0.0.1:$port" 2>ui.log & pid=$!
for _ in $(seq 1 500); do curl -sf -o /dev/null "$url/health" && break; sleep 0.01; done
rss() { awk '/VmRSS/ {printf "%.1f MB", $2/1024}' /proc/$pid/status; }
echo "== RSS idle: $(rss)"
echo "== logging"
"$load" -url "$url" -runs "$runs" -clients 4 log
echo "== RSS with $runs runs in its catalog: $(rss)"
echo "== search_runs"
"$load" -url "$url" -repeat 20 -max-results 1000 search
"$load" -url "$url" -repeat 10 -max-results 10000 search
echo "== the UI's runs page, same filter and order (50 rows of the matches)"
"$load" -url "$url" -repeat 20 -page "/runs?filter=metrics.m0+%3C+0.5+and+params.p1+%3D+%27v1%27&order=metrics.m1+DESC" page
echo "== RSS after the searches: $(rss)"
