#!/usr/bin/env bash
# `make bench-train`'s Géron part: Géron's housing.csv as it comes (207 empty
# total_bedrooms cells, the text column ocean_proximity), on five seeded 80/20
# splits (housectl's split for train.seed 1..5; the peers get the same test
# rows). housectl's default gradient_boosting (a project made by
# `init --from-csv`) against scikit-learn 1.2's HistGradientBoostingRegressor
# (categorical_features, native NaN), and configs/handson-tuned.yaml against
# XGBoost 1.7 (hist, enable_categorical, 500 trees, depth 6, rate 0.1).
# Test RMSE in dollars and fit seconds, per split, then the means.
# Usage: scripts/bench-handson.sh BIN GERON_CSV [SEEDS]
set -euo pipefail
bin=$(realpath "$1"); csv=$(realpath "$2"); seeds=${3:-1 2 3 4 5}
here=$(cd "$(dirname "$0")" && pwd); repo=$(dirname "$here")
"$here/deps-debian.sh" python3-sklearn python3-pandas python3-xgboost
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"
"$bin" init --from-csv "$csv" --target median_house_value >/dev/null 2>&1
n=$(($(wc -l < "$csv") - 1))
for s in $seeds; do
  (cd "$repo" && go run ./scripts/splitidx -n "$n" -test-fraction 0.2 -seed "$s") > "idx$s.txt"
  "$bin" train --model gradient_boosting --cv-folds 0 --seed "$s" --json > "default$s.json" 2>/dev/null
  "$bin" --config "$repo/configs/handson-tuned.yaml" train --data "$csv" --cv-folds 0 --seed "$s" --json > "tuned$s.json" 2>/dev/null
  # OPENBLAS_CORETYPE/L2_SIZE slow a current numpy down (see the env notes); unset for the peers only.
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$here/handson_peers.py" "$csv" "idx$s.txt" > "peers$s.json"
done
SEEDS="$seeds" python3 - <<'PY'
import json, os
seeds = os.environ["SEEDS"].split()
def h(f):
    c = json.load(open(f))["candidates"][0]
    return c["metrics"]["rmse"], c["fit_seconds"]
rows = []
print("Géron housing.csv, test RMSE in dollars (fit seconds)")
print("split  housectl default   HGB (categories, NaN)   housectl tuned    XGBoost 1.7 (hist, cat)")
for s in seeds:
    d, t = h(f"default{s}.json"), h(f"tuned{s}.json")
    p = json.load(open(f"peers{s}.json"))
    g, x = (p["hgb"]["rmse"], p["hgb"]["fit_seconds"]), (p["xgboost"]["rmse"], p["xgboost"]["fit_seconds"])
    rows.append((d, g, t, x))
    print(f"seed {s} {d[0]:9,.0f} ({d[1]:.2f} s) {g[0]:11,.0f} ({g[1]:.2f} s) {t[0]:13,.0f} ({t[1]:.2f} s) {x[0]:12,.0f} ({x[1]:.2f} s)")
mean = lambda k, i: sum(r[k][i] for r in rows) / len(rows)
print(f"mean   {mean(0,0):9,.0f} ({mean(0,1):.2f} s) {mean(1,0):11,.0f} ({mean(1,1):.2f} s) {mean(2,0):13,.0f} ({mean(2,1):.2f} s) {mean(3,0):12,.0f} ({mean(3,1):.2f} s)")
wins = lambda a, b: sum(r[a][0] <= r[b][0] for r in rows)
print(f"default <= HGB on {wins(0,1)}/{len(rows)} splits: RMSE {mean(0,0)/mean(1,0):.3f}x, fit {mean(1,1)/mean(0,1):.1f}x faster")
print(f"tuned < XGBoost on {sum(r[2][0] < r[3][0] for r in rows)}/{len(rows)} splits: RMSE {mean(2,0)/mean(3,0):.3f}x")
PY
