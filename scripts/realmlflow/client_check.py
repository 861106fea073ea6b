"""The real MLflow 2.17.2 Python client against housectl ui, by hand (it cannot
run in CI): an experiment, params, a metric history, a tag, an artifact,
mlflow.sklearn.log_model, search_runs, register_model, an alias, and the
model loaded back from models:/ridge-model@champion. docs/BENCHMARKS.md
records what it printed.

usage: housectl ui --addr 127.0.0.1:5123 &
       . /opt/realmlflow/env.sh
       MLFLOW_TRACKING_URI=http://127.0.0.1:5123 /usr/bin/python3 client_check.py
"""
import mlflow, numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import Ridge
mlflow.set_experiment("client check")
with mlflow.start_run(run_name="ridge") as run:
    mlflow.log_params({"alpha": 0.5, "fit_intercept": True})
    for step in range(5):
        mlflow.log_metric("rmse", 1.0 / (step + 1), step=step)
    mlflow.set_tag("stage", "dev")
    with open("notes.txt", "w") as f:
        f.write("hello artifact\n")
    mlflow.log_artifact("notes.txt")
    X = np.random.RandomState(0).rand(50, 3); y = X @ [1.0, 2.0, 3.0]
    model = Ridge(alpha=0.5).fit(X, y)
    mlflow.sklearn.log_model(model, "model", input_example=X[:2])
    run_id = run.info.run_id
print("run", run_id)
c = MlflowClient()
print("history", [m.value for m in c.get_metric_history(run_id, "rmse")])
print("search", [r.info.run_name for r in mlflow.search_runs(experiment_names=["client check"], filter_string="metrics.rmse < 0.5 and params.alpha = '0.5'", output_format="list")])
mv = mlflow.register_model(f"runs:/{run_id}/model", "ridge-model")
c.set_registered_model_alias("ridge-model", "champion", mv.version)
print("alias", c.get_model_version_by_alias("ridge-model", "champion").version)
loaded = mlflow.pyfunc.load_model("models:/ridge-model@champion")
print("predict", loaded.predict(X[:2]))
print("artifacts", [a.path for a in c.list_artifacts(run_id)])
