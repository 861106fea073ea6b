"""The peer of `make bench-serve`: the FastAPI + uvicorn + scikit-learn service
housectl replaces. It fits scikit-learn's GradientBoostingRegressor on the
training rows of housectl's split at start-up and serves POST /predict with
the request validated by pydantic, as such services are usually written.

    HOUSECTL_BENCH_DATA=data/california.csv HOUSECTL_BENCH_TEST_IDX=test_idx.txt \
        python3 -m uvicorn fastapi_app:app --port 8001
"""
import os

import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, confloat
from sklearn.ensemble import GradientBoostingRegressor

FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]

df = pd.read_csv(os.environ["HOUSECTL_BENCH_DATA"])
test = np.loadtxt(os.environ["HOUSECTL_BENCH_TEST_IDX"], dtype=int)
mask = np.ones(len(df), bool)
mask[test] = False
model = GradientBoostingRegressor(random_state=0).fit(df.loc[mask, FEATURES].values, df.loc[mask, "MedHouseVal"].values)


class Features(BaseModel):
    MedInc: confloat(ge=0, le=20)
    HouseAge: confloat(ge=0, le=100)
    AveRooms: confloat(ge=0, le=1000)
    AveBedrms: confloat(ge=0, le=1000)
    Population: confloat(ge=0, le=100000)
    AveOccup: confloat(ge=0, le=10000)
    Latitude: confloat(ge=32, le=42.5)
    Longitude: confloat(ge=-124.5, le=-114)

    class Config:
        extra = "forbid"


app = FastAPI()


@app.get("/ready")
def ready():
    return {"status": "ready"}


@app.post("/predict")
def predict(f: Features):
    x = np.array([[getattr(f, k) for k in FEATURES]])
    return {"prediction": float(model.predict(x)[0]), "model": "sklearn-gbr", "version": "1"}
