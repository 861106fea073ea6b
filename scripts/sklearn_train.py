#!/usr/bin/env python3
"""The scikit-learn peer of `make bench-train`: fit HistGradientBoostingRegressor()
and RandomForestRegressor(n_estimators=100, n_jobs=2) on housectl's split and
print one JSON object with fit time, test RMSE, pickle size, batch and
single-row prediction time.

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
print(json.dumps(out))
