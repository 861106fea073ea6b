#!/usr/bin/env bash
# `make demo-handson`: Géron's housing.csv (Hands-On Machine Learning: raw
# totals, 207 empty total_bedrooms cells, the text column ocean_proximity)
# end to end with no preprocessing by hand: schema inference, validate,
# train, register, promote, serve, and predictions with labels and empty
# cells, through predict and through the server.
# Usage: scripts/demo-handson.sh BIN GERON_CSV [DIR]
set -euo pipefail
bin=$(realpath "$1"); csv=$(realpath "$2"); dir=${3:-bin/demo-handson}
rm -rf "$dir"; mkdir -p "$dir"; cd "$dir"
say() { printf '\n== %s\n' "$*"; }
say "scaffold a project around the CSV: its schema proposed"
"$bin" init --from-csv "$csv" --target median_house_value
grep -A13 '^schema:' configs/housectl.yaml
say "validate"
"$bin" data validate
say "train, register, promote"
"$bin" train --register geron_housing --promote production
say "predict a CSV with labels and an empty cell"
cat > rows.csv <<'CSV'
longitude,latitude,housing_median_age,total_rooms,total_bedrooms,population,households,median_income,ocean_proximity
-122.25,37.85,40,900,140,330,130,8.1,NEAR BAY
-121.5,38.6,20,2000,,900,350,3.2,INLAND
CSV
"$bin" predict --run models:/geron_housing@production --input rows.csv
say "serve, and predict by label with a null"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --addr "127.0.0.1:$port" 2> serve.log & pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/ready" && break; sleep 0.02; done
curl -s "http://127.0.0.1:$port/predict" -H 'Content-Type: application/json' \
  -d '{"longitude": -121.5, "latitude": 38.6, "housing_median_age": 20, "total_rooms": 2000, "total_bedrooms": null, "population": 900, "households": 350, "median_income": 3.2, "ocean_proximity": "INLAND"}'
echo
curl -s "http://127.0.0.1:$port/predict" -H 'Content-Type: application/json' \
  -d '{"longitude": -121.5, "latitude": 38.6, "housing_median_age": 20, "total_rooms": 2000, "total_bedrooms": 400, "population": 900, "households": 350, "median_income": 3.2, "ocean_proximity": "MOON"}'
echo
kill -TERM $pid; wait $pid 2>/dev/null || true
