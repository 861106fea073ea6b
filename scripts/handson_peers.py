#!/usr/bin/env python3
"""The peers of `make bench-train`'s Géron part, on Géron's housing.csv as it
comes (207 empty total_bedrooms, the text column ocean_proximity), on the
test rows housectl held out for one seed (test_idx.txt):

- scikit-learn's HistGradientBoostingRegressor() with categorical_features
  (ocean_proximity) and its native missing values;
- XGBoost 1.7 with tree_method="hist", enable_categorical=True, 500 trees of
  depth 6, learning rate 0.1.

Prints one JSON object: per peer, fit seconds and test RMSE in dollars.

    python3 scripts/handson_peers.py housing.csv test_idx.txt
"""
import json
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_squared_error

df = pd.read_csv(sys.argv[1])
test = np.loadtxt(sys.argv[2], dtype=int)
mask = np.zeros(len(df), bool)
mask[test] = True
y = df.pop("median_house_value").values
cat = df.columns.get_loc("ocean_proximity")
df["ocean_proximity"] = df["ocean_proximity"].astype("category")
out = {}

# HGB takes categories as non-negative integer codes; NaN stays NaN.
Xh = df.copy()
Xh["ocean_proximity"] = Xh["ocean_proximity"].cat.codes
Xh = Xh.values.astype(float)
m = HistGradientBoostingRegressor(categorical_features=[cat], random_state=0)
t = time.perf_counter()
m.fit(Xh[~mask], y[~mask])
fit = time.perf_counter() - t
out["hgb"] = {"fit_seconds": fit, "rmse": mean_squared_error(y[mask], m.predict(Xh[mask])) ** 0.5}

m = xgb.XGBRegressor(tree_method="hist", enable_categorical=True, n_estimators=500, max_depth=6,
                     learning_rate=0.1, n_jobs=2, random_state=0)
t = time.perf_counter()
m.fit(df[~mask], y[~mask])
fit = time.perf_counter() - t
out["xgboost"] = {"fit_seconds": fit, "rmse": mean_squared_error(y[mask], m.predict(df[mask])) ** 0.5}
print(json.dumps(out))
