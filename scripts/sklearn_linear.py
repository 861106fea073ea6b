#!/usr/bin/env python3
"""Print scikit-learn's LinearRegression and Ridge(alpha=1) coefficients on
the full California frame: the golden values of pkg/model/linear's parity
test.

    python3 scripts/sklearn_linear.py data/california.csv
"""
import sys

import pandas as pd
from sklearn.linear_model import LinearRegression, Ridge

df = pd.read_csv(sys.argv[1])
X, y = df.drop(columns="MedHouseVal").values, df["MedHouseVal"].values
for m in (LinearRegression(), Ridge(alpha=1.0)):
    m.fit(X, y)
    print(type(m).__name__, repr(float(m.intercept_)), [repr(float(c)) for c in m.coef_])
