#!/usr/bin/env bash
# make bench-s3: housectl's DVC push/pull against rclone's copy, side by
# side, on one real S3 server (SeaweedFS's weed mini on loopback) with the
# same files: 2,000 files of 4 KiB; one 256 MiB file; a no-op re-push of
# both; a pull of both into an empty cache. Prints the times, the ratios
# (rclone / housectl: above 1, housectl is faster) and the requests a
# no-op push makes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/seaweedfs.sh
command -v rclone >/dev/null || scripts/deps-debian.sh rclone
make -s build
HC=$PWD/bin/housectl
WEED=$PWD/bin/tools/weed
ROUNDS=${ROUNDS:-3}

W=$(mktemp -d)
cleanup() { [ -n "${WPID:-}" ] && kill "$WPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT && echo "keeping $W"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
P=(); for i in $(seq 0 11); do P+=("$(free_port)"); done
export AWS_ACCESS_KEY_ID=benchkey AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1
mkdir -p "$W/weed"
"$WEED" mini -dir="$W/weed" -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.port="${P[0]}" -s3.port.grpc="${P[1]}" \
  -master.port="${P[2]}" -master.port.grpc="${P[3]}" -volume.port="${P[4]}" -volume.port.grpc="${P[5]}" \
  -filer.port="${P[6]}" -filer.port.grpc="${P[7]}" -admin.port="${P[8]}" -admin.port.grpc="${P[9]}" -admin.port.legacy=0 \
  -s3.port.iceberg=0 -s3.port.lance=0 -s3.autoCreateBucket=false -webdav=false -admin.ui=false -master.telemetry=false \
  >"$W/weed.log" 2>&1 &
WPID=$!
EP=http://127.0.0.1:${P[0]}
export AWS_ENDPOINT_URL=$EP
# rclone 1.60 reads RCLONE_CONFIG_<NAME>_*; it refuses to start with AWS_CA_BUNDLE set.
export RCLONE_CONFIG_SW_TYPE=s3 RCLONE_CONFIG_SW_PROVIDER=Other RCLONE_CONFIG_SW_ENDPOINT=$EP \
  RCLONE_CONFIG_SW_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_SW_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
RC() { env -u AWS_CA_BUNDLE rclone --config /dev/null "$@"; }
for _ in $(seq 1 100); do RC mkdir sw:ready 2>/dev/null && break; sleep 0.2; done

echo "== files: 2,000 of 4 KiB, one of 256 MiB"
mkdir -p "$W/repo/data/small"
python3 - "$W/repo/data/small" <<'PY'
import os, sys
d = sys.argv[1]
for i in range(2000):
    with open(os.path.join(d, f"{i:04d}.bin"), "wb") as f:
        f.write(os.urandom(4096))
PY
head -c $((256 << 20)) /dev/urandom > "$W/repo/data/big.bin"
cd "$W/repo"
"$HC" init >/dev/null 2>&1
"$HC" data add data/small data/big.bin >/dev/null

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }
declare -A T
# run NAME PREP CMD: the best of ROUNDS runs of CMD, each after PREP (both
# evaluated at the time, so $B is the fresh bucket).
run() {
  local name=$1 prep=$2 cmd=$3 times=() a b
  for _ in $(seq 1 "$ROUNDS"); do
    eval "$prep"
    sync; sleep 1 # the deletions of the last round settled (this disk discards on delete)
    a=$(now); eval "$cmd" >/dev/null 2>&1; b=$(now)
    times+=("$(secs "$a" "$b")")
  done
  T[$name]=$(printf '%s\n' "${times[@]}" | sort -n | head -1)
}
n=0
fresh() { n=$((n + 1)); B=bench-$n; RC mkdir "sw:$B"; }

# housectl: DVC's push and pull, its layout on the bucket.
run hc_small 'fresh; "$HC" data remote add -d -f store "s3://$B/store" >/dev/null' '"$HC" data push data/small'
run hc_big 'fresh; "$HC" data remote add -d -f store "s3://$B/store" >/dev/null' '"$HC" data push data/big.bin'
"$HC" data push >/dev/null
run hc_noop ':' '"$HC" data push'
NOOP_REQ=$("$HC" data push --json | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("requests", 0), r["up_to_date"])')
run hc_pull 'rm -rf .dvc/cache/files' '"$HC" data pull data/small'
run hc_pull_big 'rm -rf .dvc/cache/files' '"$HC" data pull data/big.bin'

# rclone, the same files, its defaults.
run rc_small 'fresh' 'RC copy data/small "sw:$B/small"'
run rc_big 'fresh' 'RC copy data/big.bin "sw:$B/big"'
RC copy data/small "sw:$B/small"
RC copy data/big.bin "sw:$B/big"
run rc_noop ':' 'RC copy data/small "sw:$B/small" && RC copy data/big.bin "sw:$B/big"'
run rc_pull 'rm -rf "$W/down"' 'RC copy "sw:$B/small" "$W/down/small"'
run rc_pull_big 'rm -rf "$W/down"' 'RC copy "sw:$B/big" "$W/down/big"'

echo
printf '%-40s %9s %9s %7s\n' "seconds, best of $ROUNDS" housectl rclone ratio
row() { printf '%-40s %9s %9s %7s\n' "$1" "${T[$2]}" "${T[$3]}" "$(python3 -c "print(f'{${T[$3]}/max(${T[$2]},0.001):.2f}')")"; }
row "push 2,000 files of 4 KiB" hc_small rc_small
row "push one 256 MiB file" hc_big rc_big
row "no-op re-push of both" hc_noop rc_noop
row "pull 2,000 files into an empty cache" hc_pull rc_pull
row "pull the 256 MiB file" hc_pull_big rc_pull_big
set -- $NOOP_REQ
echo "requests of a no-op push of $2 objects: $1"
echo "(ratio: rclone's time / housectl's; above 1, housectl is faster)"
