#!/usr/bin/env python3
"""The scikit-learn peer of `make bench-train`: fit HistGradientBoostingRegressor()
and RandomForestRegressor(n_estimators=100, n_jobs=2) on housectl's split and
print one JSON object with fit time, test RMSE, pickle size, batch and
single-row prediction time; and, for configs/gbt-tuned.yaml, the test RMSE of
HistGradientBoostingRegressor with the same tuning on the same rotated
coordinates (Latitude, Longitude turned by 15, 30, 45 and 60 degrees).

    python3 scripts/sklearn_train.py data/california.csv test_idx.txt
"""
import json
import pickle
import sys
import time

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import mean_squared_error

df = pd.read_csv(sys.argv[1])
test = np.loadtxt(sys.argv[2], dtype=int)
mask = np.zeros(len(df), bool)
mask[test] = True
X, y = df.drop(columns="MedHouseVal").values, df["MedHouseVal"].values
Xtr, ytr, Xte, yte = X[~mask], y[~mask], X[mask], y[mask]
out = {}
for name, m in [("gradient_boosting", HistGradientBoostingRegressor()),
                ("random_forest", RandomForestRegressor(n_estimators=100, n_jobs=2))]:
    t = time.perf_counter()
    m.fit(Xtr, ytr)
    fit = time.perf_counter() - t
    rmse = mean_squared_error(yte, m.predict(Xte)) ** 0.5
    batch = []
    for _ in range(7):
        t = time.perf_counter()
        m.predict(Xte)
        batch.append(time.perf_counter() - t)
    rows = np.random.default_rng(0).integers(0, len(Xte), 200)
    t = time.perf_counter()
    for i in rows:
        m.predict(Xte[i:i + 1])
    row = (time.perf_counter() - t) / len(rows)
    out[name] = {"fit_seconds": fit, "rmse": rmse, "pickle_bytes": len(pickle.dumps(m)),
                 "batch_seconds": float(np.median(batch)), "row_seconds": row}

# configs/gbt-tuned.yaml's peer: the same derived features and tuning (no
# feature or row subsampling: HGBR has neither in scikit-learn 1.2).
lat, lon = df["Latitude"].values, df["Longitude"].values
extra = []
for deg in (15, 30, 45, 60):
    s, c = np.sin(np.deg2rad(deg)), np.cos(np.deg2rad(deg))
    extra += [c * lat + s * lon, c * lon - s * lat]
Xr = np.column_stack([X] + extra)
m = HistGradientBoostingRegressor(learning_rate=0.05, max_iter=1500, max_leaf_nodes=63,
                                  min_samples_leaf=20, l2_regularization=1.0,
                                  early_stopping=False, random_state=0)
t = time.perf_counter()
m.fit(Xr[~mask], ytr)
out["tuned"] = {"fit_seconds": time.perf_counter() - t,
                "rmse": mean_squared_error(yte, m.predict(Xr[mask])) ** 0.5}
print(json.dumps(out))
