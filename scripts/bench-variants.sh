#!/usr/bin/env bash
# The cost of serving many models live (issue 21), side by side in one run
# on one machine: housectl serve (prediction log on, SQLite) at c=32 with
#   one      models:/california@production alone (the baseline);
#   three    three models at once, requests spread across them (bench/multi.lua);
#   split    a 90/10 split of california between production and challenger;
#   shadow   production with challenger as its shadow (every row predicted twice).
# Each server is measured REPEAT times (default 3), interleaved, after a 2 s
# warm-up; the ratios are of the medians. Targets: three and split >= 0.9x
# of one, shadow >= 0.5x. After each server's SIGTERM the script checks
# that every answered request is in the log, and every shadow row that was
# not dropped (counted by housectl_serve_shadow_dropped_total).
# Usage: [REPEAT=N] scripts/bench-variants.sh BIN ARCHIVE [DURATION]
set -euo pipefail
bin=$(realpath "$1"); archive=$(realpath "$2"); dur=${3:-10s}
repeat=${REPEAT:-3}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
"$here/deps-debian.sh" wrk sqlite3
work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
"$bin" init >/dev/null 2>&1
HOUSECTL_DATA_URL="file://$archive" "$bin" data fetch >/dev/null 2>&1
"$bin" train --model gradient_boosting --cv-folds 0 --register california --promote production >/dev/null 2>&1
"$bin" train --model gradient_boosting --cv-folds 0 --set gradient_boosting.learning_rate=0.15 --register california >/dev/null 2>&1
"$bin" models promote california 2 --alias challenger >/dev/null
run=$("$bin" runs list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
for m in other1 other2; do
  "$bin" models register "$run" --name "$m" >/dev/null
  "$bin" models promote "$m" 1 --alias production >/dev/null
done
cat > body.json <<'JSON'
{"MedInc": 8.3252, "HouseAge": 41.0, "AveRooms": 6.984127, "AveBedrms": 1.02381, "Population": 322.0, "AveOccup": 2.555556, "Latitude": 37.88, "Longitude": -122.23}
JSON
export BODY_FILE="$work/body.json"
for s in one three split shadow; do printf 'version: 1\n' > "$s.yaml"; done
printf 'serve:\n  models: [models:/california@production, models:/other1@production, models:/other2@production]\n' >> three.yaml
printf 'serve:\n  split: {production: 90, challenger: 10}\n' >> split.yaml
printf 'serve:\n  shadow: challenger\n' >> shadow.yaml

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wrk_run() { # URL LUA SECONDS -> "rps p99_ms requests non2xx"
  wrk -t2 -c32 -d"$3" --latency -s "$2" "$1" > wrk.out 2>&1 || { cat wrk.out >&2; return 1; }
  awk '
    function ms(s) { if (s ~ /us$/) return substr(s,1,length(s)-2)/1000; if (s ~ /ms$/) return substr(s,1,length(s)-2)+0; if (s ~ /s$/) return substr(s,1,length(s)-1)*1000; return s }
    /Requests\/sec/ {rps=$2} /^ +99%/ {p99=ms($2)} / requests in / {n=$1} /Non-2xx/ {bad=$4}
    END { printf "%s %.3f %s %s\n", rps, p99, n, (bad=="" ? 0 : bad) }' wrk.out
}
declare -A R P
measure() { # SCENARIO
  local s=$1 lua="$repo/bench/post.lua" path=/predict port
  [ "$s" = three ] && lua="$repo/bench/multi.lua"
  rm -f experiments/predictions.db*
  port=$(free_port)
  HOUSECTL_CONFIG="$s.yaml" "$bin" serve --addr "127.0.0.1:$port" 2> "serve-$s.log" & pid=$!
  for _ in $(seq 1 3000); do curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.01; done
  read -r _ _ n1 bad1 < <(wrk_run "http://127.0.0.1:$port$path" "$lua" 2s)
  read -r rps p99 n2 bad2 < <(wrk_run "http://127.0.0.1:$port$path" "$lua" "$dur")
  dropped=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^housectl_serve_shadow_dropped_total / {print $2+0}')
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  served=$(sqlite3 experiments/predictions.db 'SELECT COUNT(*) FROM predictions WHERE shadow = 0')
  shadows=$(sqlite3 experiments/predictions.db 'SELECT COUNT(*) FROM predictions WHERE shadow = 1')
  # wrk counts the responses it read; the server also logged the requests
  # whose answers were cut off when wrk stopped: at least the answered.
  answered=$(( n1 + n2 - bad1 - bad2 ))
  want_shadows=0
  [ "$s" = shadow ] && want_shadows=$(( served - ${dropped:-0} ))
  check="ok ($answered answered)"
  if [ "$served" -lt "$answered" ] || [ "$shadows" != "$want_shadows" ]; then check="MISSING ROWS ($answered answered)"; fi
  printf "%-7s %10s %9s %8s %10s %10s %8s  %s\n" "$s" "$rps" "$p99" "$(( bad1 + bad2 ))" "$served" "$shadows" "${dropped:-0}" "$check"
  R[$s]+=" $rps"; P[$s]+=" $p99"
  [ "${check%% *}" = ok ]
}
echo "== housectl serve, wrk -t2 -c32 -d$dur on loopback, the prediction log on (SQLite), $(nproc) cores; each measured $repeat times, interleaved"
printf "%-7s %10s %9s %8s %10s %10s %8s  %s\n" server "req/s" "p99 ms" non2xx "log rows" "shadow" dropped "log after SIGTERM"
status=0
for _ in $(seq 1 "$repeat"); do
  for s in one three split shadow; do measure "$s" || status=1; done
done
python3 - "${R[one]}" "${R[three]}" "${R[split]}" "${R[shadow]}" "${P[one]}" "${P[three]}" "${P[split]}" "${P[shadow]}" <<'PY'
import statistics, sys
one, three, split, shadow, p1, p3, ps, psh = (statistics.median(map(float, a.split())) for a in sys.argv[1:])
print(f"medians: one {one:.0f} req/s (p99 {p1:.2f} ms); three models {three/one:.2f}x (target >= 0.9, p99 {p3:.2f} ms); "
      f"90/10 split {split/one:.2f}x (target >= 0.9, p99 {ps:.2f} ms); shadow {shadow/one:.2f}x (target >= 0.5, p99 {psh:.2f} ms)")
PY
exit $status
