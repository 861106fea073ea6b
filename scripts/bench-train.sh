#!/usr/bin/env bash
# Models side by side in one run (issue 4's targets): housectl's default
# gradient_boosting and random_forest against scikit-learn's
# HistGradientBoostingRegressor() and RandomForestRegressor(100, n_jobs=2),
# fitted and scored on the same rows (housectl's seed-42 80/20 split), plus
# the tuned config. Prints a line per comparison with its ratio.
# Usage: scripts/bench-train.sh BIN ARCHIVE
set -euo pipefail
bin=$(realpath "$1"); archive=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
"$here/deps-debian.sh" python3-sklearn python3-pandas
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" init >/dev/null 2>&1
HOUSECTL_DATA_URL="file://$archive" "$bin" data fetch >/dev/null 2>&1
(cd "$repo" && go run ./scripts/splitidx -n 20640 -test-fraction 0.2 -seed 42) > test_idx.txt
"$bin" train --model gradient_boosting,random_forest --cv-folds 0 --json > housectl.json 2>/dev/null
"$bin" --config "$repo/configs/gbt-tuned.yaml" train --cv-folds 0 --json > tuned.json 2>/dev/null
# OPENBLAS_CORETYPE/L2_SIZE slow a current numpy down (see the env notes); unset for the peer only.
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/sklearn_train.py" data/california.csv test_idx.txt > sklearn.json
(cd "$repo" && go test -run '^$' -bench 'PredictRow|PredictBatch4128' -benchtime 2s ./pkg/model/gbt/ ./pkg/model/forest/) > gobench.txt
python3 - <<'PY'
import json, re
h = {c["model"]: c for c in json.load(open("housectl.json"))["candidates"]}
tuned = json.load(open("tuned.json"))["candidates"][0]
s = json.load(open("sklearn.json"))
bench = {}
pkg = None
for line in open("gobench.txt"):
    if line.startswith("pkg:"):
        pkg = "gradient_boosting" if line.strip().endswith("/gbt") else "random_forest"
    m = re.match(r"Benchmark(\w+)-\d+\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+(\d+) allocs/op", line)
    if m:
        bench[(pkg, m.group(1))] = (float(m.group(2)), int(m.group(4)))
print("model              metric                     housectl      scikit-learn   ratio")
for k, label in (("gradient_boosting", "HGBR()"), ("random_forest", "RF(100)")):
    hc, sc = h[k], s[k]
    row_ns, row_allocs = bench[(k, "PredictRow")]
    batch_ns, _ = bench[(k, "PredictBatch4128")]
    print(f"{k:18} test RMSE                   {hc['metrics']['rmse']:.4f}        {sc['rmse']:.4f} {label:7} {hc['metrics']['rmse']/sc['rmse']:.3f}x (<= 1 is better)")
    print(f"{k:18} fit                        {hc['fit_seconds']:.3f} s       {sc['fit_seconds']:.3f} s       {sc['fit_seconds']/hc['fit_seconds']:.1f}x faster")
    print(f"{k:18} artifact / pickle          {hc['artifact']['size']/1e6:.2f} MB      {sc['pickle_bytes']/1e6:.2f} MB      1/{sc['pickle_bytes']/hc['artifact']['size']:.1f}")
    print(f"{k:18} single row (in process)    {row_ns/1e3:.2f} us       {sc['row_seconds']*1e6:.0f} us        {sc['row_seconds']*1e9/row_ns:.0f}x faster, {row_allocs} allocs")
    print(f"{k:18} batch of 4,128 rows        {batch_ns/1e6:.2f} ms       {sc['batch_seconds']*1e3:.2f} ms       {sc['batch_seconds']*1e9/batch_ns:.1f}x faster")
st = s["tuned"]
print(f"gradient_boosting  tuned config test RMSE     {tuned['metrics']['rmse']:.4f}        {st['rmse']:.4f} HGBR    {tuned['metrics']['rmse']/st['rmse']:.3f}x (configs/gbt-tuned.yaml; target <= 0.44)")
print(f"gradient_boosting  tuned config fit           {tuned['fit_seconds']:.2f} s        {st['fit_seconds']:.2f} s        {st['fit_seconds']/tuned['fit_seconds']:.1f}x faster")
PY
