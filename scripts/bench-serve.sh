#!/usr/bin/env bash
# `make bench-serve`: housectl serve (prediction log on) against the
# FastAPI + uvicorn + scikit-learn peer (bench/fastapi_app.py, one worker)
# and a bare net/http handler that only decodes the JSON (bench/ceiling),
# with wrk on loopback, in one run. Prints req/s, p50/p99 latency, RSS and
# time to ready, and the ratios, for three layouts of the machine's cores:
#   shared:   wrk -t2 (-t1 at c=1) and the servers share all cores, so every
#             server has both, and takes turns on them with wrk;
#   oneproc:  nothing pinned; wrk -t1, and each server runs its code on one
#             CPU at a time, as FastAPI's one uvicorn worker always does:
#             housectl with serve.procs 1, the ceiling with GOMAXPROCS=1;
#   isolated: wrk -t1 pinned to CPU 0, each server pinned to CPU 1, so the
#             load generator never runs on the server's core.
# LAYOUT=shared, oneproc or isolated runs one of them (ISOLATE=1 = isolated).
# Every measurement follows a 2 s warm-up at the same concurrency.
# REPEAT=N measures each server N times, interleaved with the others, and
# the ratios are of the medians (the VM's speed drifts by up to 1.5x within
# minutes).
# Usage: [LAYOUT=all|shared|oneproc|isolated] [REPEAT=N] scripts/bench-serve.sh BIN ARCHIVE [DURATION]
set -euo pipefail
bin=$(realpath "$1"); archive=$(realpath "$2"); dur=${3:-10s}
repeat=${REPEAT:-1}
case $repeat in
  '' | *[!0-9]* | 0) echo "REPEAT must be a whole number of at least 1, got $repeat" >&2; exit 2 ;;
esac
layouts=${LAYOUT:-all}
if [ "${ISOLATE:-}" = 1 ]; then layouts=isolated; fi
case $layouts in
  all | both) layouts="shared oneproc isolated" ;;
  shared | oneproc | isolated) ;;
  *) echo "LAYOUT must be all, shared, oneproc or isolated, got $layouts" >&2; exit 2 ;;
esac
if [ "$(nproc)" -lt 2 ] && [ "$layouts" != shared ]; then
  echo "one CPU: only the shared layout can run" >&2; layouts=shared
fi
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
"$here/deps-debian.sh" wrk python3-sklearn python3-pandas python3-fastapi python3-uvicorn python3-uvloop python3-httptools
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
"$bin" init >/dev/null 2>&1
HOUSECTL_DATA_URL="file://$archive" "$bin" data fetch >/dev/null 2>&1
"$bin" train --model gradient_boosting --cv-folds 0 --register california --promote production >/dev/null 2>&1
(cd "$repo" && go run ./scripts/splitidx -n 20640 -test-fraction 0.2 -seed 42) > test_idx.txt
(cd "$repo" && go build -o "$work/ceiling" ./bench/ceiling)
cat > body.json <<'JSON'
{"MedInc": 8.3252, "HouseAge": 41.0, "AveRooms": 6.984127, "AveBedrms": 1.02381, "Population": 322.0, "AveOccup": 2.555556, "Latitude": 37.88, "Longitude": -122.23}
JSON
export BODY_FILE="$work/body.json"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { # URL TIMEOUT_S -> prints seconds to ready
  local t0; t0=$(date +%s.%N)
  for _ in $(seq 1 $(( $2 * 100 ))); do
    if curl -sf -o /dev/null "$1"; then python3 -c "print(f'{$(date +%s.%N)-$t0:.3f}')"; return 0; fi
    sleep 0.01
  done
  echo "not ready: $1" >&2; return 1
}
rss_mb() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
run_wrk() { # URL CONNS -> "rps p50_ms p99_ms non2xx"
  "${gen[@]}" wrk -t"$(threads "$2")" -c"$2" -d2s -s "$repo/bench/post.lua" "$1" > /dev/null 2>&1 || true
  "${gen[@]}" wrk -t"$(threads "$2")" -c"$2" -d"$dur" --latency -s "$repo/bench/post.lua" "$1" > wrk.out 2>&1 || { cat wrk.out >&2; return 1; }
  awk '
    function ms(s) { if (s ~ /us$/) return substr(s,1,length(s)-2)/1000; if (s ~ /ms$/) return substr(s,1,length(s)-2)+0; if (s ~ /s$/) return substr(s,1,length(s)-1)*1000; return s }
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=ms($2)} /^ +99%/ {p99=ms($2)}
    /Non-2xx/ {bad=$4}
    END { printf "%s %.3f %.3f %s\n", rps, p50, p99, (bad=="" ? 0 : bad) }' wrk.out
}

run_layout() { # shared|oneproc|isolated
  case $1 in
  isolated)
    srv=(taskset -c 1); gen=(taskset -c 0); threads() { echo 1; }; procs=()
    desc="wrk -t1 pinned to CPU 0, servers pinned to CPU 1" ;;
  oneproc)
    srv=(); gen=(); threads() { echo 1; }; procs=(env GOMAXPROCS=1 HOUSECTL_SERVE_PROCS=1)
    desc="wrk -t1 and the servers sharing all $(nproc) cores, each server on one CPU at a time (housectl serve.procs 1)" ;;
  *)
    srv=(); gen=(); threads() { if [ "$1" -lt 2 ]; then echo 1; else echo 2; fi; }; procs=()
    desc="wrk -t2 (-t1 at c=1) and the servers sharing all $(nproc) cores" ;;
  esac
  rm -rf experiments/predictions.db*
  # housectl serve, prediction log on.
  hp=$(free_port)
  "${srv[@]}" "${procs[@]}" "$bin" serve --addr "127.0.0.1:$hp" 2> "serve-$1.log" & pids+=($!); hpid=$!
  h_ready=$(wait_ready "http://127.0.0.1:$hp/ready" 30)
  # The peer.
  pp=$(free_port)
  (cd "$repo/bench" && HOUSECTL_BENCH_DATA="$work/data/california.csv" HOUSECTL_BENCH_TEST_IDX="$work/test_idx.txt" \
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${srv[@]}" /usr/bin/python3 -m uvicorn fastapi_app:app --port "$pp" --log-level warning) 2> peer.log & pids+=($!); ppid=$!
  p_ready=$(wait_ready "http://127.0.0.1:$pp/ready" 120)
  # The ceiling.
  rm -f ceiling.addr
  "${srv[@]}" "${procs[@]}" ./ceiling > ceiling.addr & pids+=($!); cpid=$!
  for _ in $(seq 1 200); do [ -s ceiling.addr ] && break; sleep 0.01; done
  caddr=$(cat ceiling.addr)

  echo "== layout $1: wrk -d$dur on loopback, $desc; housectl logs every prediction to SQLite"
  printf "%-10s %5s %10s %9s %9s %8s\n" server conns "req/s" "p50 ms" "p99 ms" non2xx
  declare -A R P99
  for c in 1 32 64; do
    for _ in $(seq 1 "$repeat"); do
      read -r rps p50 p99 bad < <(run_wrk "http://127.0.0.1:$hp/predict" "$c"); R[h$c]+=" $rps"; P99[h$c]+=" $p99"
      printf "%-10s %5s %10s %9s %9s %8s\n" housectl "$c" "$rps" "$p50" "$p99" "$bad"
      read -r rps p50 p99 bad < <(run_wrk "http://$caddr/predict" "$c"); R[c$c]+=" $rps"; P99[c$c]+=" $p99"
      printf "%-10s %5s %10s %9s %9s %8s\n" ceiling "$c" "$rps" "$p50" "$p99" "$bad"
      read -r rps p50 p99 bad < <(run_wrk "http://127.0.0.1:$pp/predict" "$c"); R[p$c]+=" $rps"
      printf "%-10s %5s %10s %9s %9s %8s\n" fastapi "$c" "$rps" "$p50" "$p99" "$bad"
    done
  done
  echo
  if [ "$repeat" -gt 1 ]; then echo "medians of $repeat interleaved measurements:"; fi
  python3 - "${R[h32]}" "${R[p32]}" "${R[c32]}" "${P99[h32]}" "${R[h1]}" "${R[p1]}" "${R[h64]}" "${R[p64]}" "${R[c1]}" "${R[c64]}" "${P99[c32]}" <<'PY'
import statistics, sys
h32, p32, c32, p99, h1, p1, h64, p64, c1, c64, cp99 = (statistics.median(map(float, a.split())) for a in sys.argv[1:])
print(f"c=32: housectl/FastAPI = {h32/p32:.1f}x (target >= 10x), housectl p99 = {p99:.2f} ms (target <= 5 ms; the ceiling's {cp99:.2f} ms), housectl/ceiling = {h32/c32:.2f} (aim >= 0.8)")
print(f"c=1:  housectl/FastAPI = {h1/p1:.1f}x, housectl/ceiling = {h1/c1:.2f}")
print(f"c=64: housectl/FastAPI = {h64/p64:.1f}x, housectl/ceiling = {h64/c64:.2f}")
PY
  echo "RSS (peak): housectl $(rss_mb $hpid) MB, FastAPI $(rss_mb $ppid) MB, ceiling $(rss_mb $cpid) MB"
  echo "start to ready: housectl ${h_ready} s, FastAPI ${p_ready} s (including its model fit)"
  kill -TERM "$hpid"; wait "$hpid" 2>/dev/null || true
  grep -o 'prediction log flushed ([0-9]* rows[^)]*)' "serve-$1.log" || true
  kill "$ppid" "$cpid" 2>/dev/null || true; wait "$ppid" "$cpid" 2>/dev/null || true
  echo
}

for l in $layouts; do run_layout "$l"; done
