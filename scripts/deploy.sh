#!/usr/bin/env bash
# Deploy housectl serve with Docker Compose, optionally with Prometheus and
# Grafana. Checks the files first (docker compose config, promtool when
# installed) and waits until the server reports healthy.
# Usage: scripts/deploy.sh [--with-monitoring] [--down]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=()
down=0
for a in "$@"; do
  case "$a" in
    --with-monitoring) profile=(--profile monitoring) ;;
    --down) down=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown option $a (use --with-monitoring, --down)" >&2; exit 2 ;;
  esac
done
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else compose=(docker-compose); fi
if [ "$down" = 1 ]; then exec "${compose[@]}" "${profile[@]}" down; fi
[ -d experiments/models/california ] || { echo "no registered model: run make demo (train, register, promote) first" >&2; exit 1; }
"${compose[@]}" "${profile[@]}" config --quiet
if command -v promtool >/dev/null; then
  promtool check config --syntax-only deploy/prometheus/prometheus.yml >/dev/null # the key file is the container's
  promtool test rules deploy/prometheus/alerts_test.yml >/dev/null
fi
# The scrape-only key of /metrics: Prometheus reads it from a file, housectl
# from HOUSECTL_METRICS_KEY. Kept across deploys in the git-ignored secrets/.
keyfile=deploy/prometheus/secrets/housectl-metrics-key
mkdir -p "$(dirname "$keyfile")"
if [ -n "${HOUSECTL_METRICS_KEY:-}" ]; then
  printf '%s' "$HOUSECTL_METRICS_KEY" > "$keyfile"
elif [ ! -s "$keyfile" ]; then
  head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$keyfile"
fi
chmod 0644 "$keyfile" # read by Prometheus's own user in its container
HOUSECTL_METRICS_KEY=$(cat "$keyfile")
export HOUSECTL_METRICS_KEY
export HOUSECTL_VERSION=${HOUSECTL_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
export HOUSECTL_COMMIT=${HOUSECTL_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
"${compose[@]}" "${profile[@]}" up -d --build
for _ in $(seq 1 60); do
  if "${compose[@]}" exec -T housectl housectl health --timeout 2s >/dev/null 2>&1; then
    echo "housectl is healthy on http://localhost:8080 (docs: /docs)"
    [ ${#profile[@]} -gt 0 ] && echo "Prometheus: http://localhost:9090  Grafana: http://localhost:3000 (dashboard \"housectl serve\")"
    exit 0
  fi
  sleep 2
done
echo "housectl did not become healthy; see: ${compose[*]} logs housectl" >&2
exit 1
