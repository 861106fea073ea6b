"""Save the model scoring_probe.py is run against: a signed sklearn
LinearRegression over the eight California Housing features (all double,
required), as mlflow.sklearn.save_model writes it.

usage: PYTHONPATH=/opt/realmlflow/site /usr/bin/python3 scoring_model.py DIR
       /opt/realmlflow/mlflow models serve -m DIR --env-manager local -p 5055
"""
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

import mlflow.sklearn
from mlflow.models import infer_signature

cols = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]
X = pd.DataFrame(np.random.default_rng(0).normal(size=(50, 8)), columns=cols)
m = LinearRegression().fit(X, X.sum(axis=1))
mlflow.sklearn.save_model(m, sys.argv[1], signature=infer_signature(X, m.predict(X)))
