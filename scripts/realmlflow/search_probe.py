"""Run search_runs filters on a real MLflow (a file store with one run,
so that a filter is also evaluated, not only parsed) and print what each
did, one JSON line a filter: how many runs matched, or the error. The
answers are pkg/tracking/testdata/mlflow-filters.jsonl.

usage: cd $(mktemp -d) && PYTHONPATH=/opt/realmlflow/site /usr/bin/python3 search_probe.py < filters.txt
(one filter a line)
"""
import json
import sys

import mlflow
from mlflow.exceptions import MlflowException

with mlflow.start_run(run_name="gradient_boosting"):
    mlflow.log_params({"model": "gradient_boosting", "tol": 1e-07, "max_features": 1.0})
    mlflow.log_metrics({"rmse": 0.47, "val rmse": 0.5})
    mlflow.set_tags({"stage": "production", "mlflow.runName": "gradient_boosting"})

for line in sys.stdin:
    f = line.rstrip("\n")
    try:
        n = len(mlflow.search_runs(filter_string=f, output_format="list"))
        print(json.dumps({"filter": f, "matched": n}))
    except MlflowException as e:
        print(json.dumps({"filter": f, "error": e.message, "error_code": e.error_code}))
    except Exception as e:  # not MLflow's own refusal: a crash in its parser
        print(json.dumps({"filter": f, "crash": repr(e)}))
