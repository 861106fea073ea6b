package tracking

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/housectl/housectl/pkg/model/all"
	"github.com/housectl/housectl/pkg/seal"
)

// A run recorded before params were stored as text (as housectl wrote
// run.json up to issue 19: params as JSON values, sealed) reads with each
// param as MLflow stores it, Python's str() of the kind's type: the filter
// an MLflow user writes matches it. The real MLflow 2.17.2, on a file store:
//
//	with mlflow.start_run() as r:
//	    mlflow.log_params({'tol': 1e-07, 'max_features': 1.0, 'max_iter': 100, 'early_stopping': False, 'rotations': None})
//	print(MlflowClient().get_run(r.info.run_id).data.params)
//	print(len(mlflow.search_runs(filter_string="params.tol = '1e-07'")), len(mlflow.search_runs(filter_string="params.tol = '0.0000001'")))
//
// printed
//
//	{'tol': '1e-07', 'early_stopping': 'False', 'max_features': '1.0', 'rotations': 'None', 'max_iter': '100'}
//	1 0
func TestLegacyParamsReadAsMLflowStoresThem(t *testing.T) {
	old := `{"id": "20261101T100000000000-aaaaaa", "name": "gradient_boosting", "experiment": "california", "model": "gradient_boosting",
	"status": "FINISHED", "start_time": "2026-11-01T10:00:00Z", "end_time": "2026-11-01T10:01:00Z",
	"params": {"learning_rate": 0.1, "max_iter": 100, "max_leaf_nodes": 31, "max_depth": 0, "min_samples_leaf": 20,
		"l2_regularization": 0, "max_bins": 255, "max_features": 1, "subsample": 1, "early_stopping": false,
		"validation_fraction": 0.1, "n_iter_no_change": 10, "tol": 1e-7, "rotations": null, "extra": 2.5, "count": 3},
	"metrics": {"rmse": 0.47}, "lineage": {"data_path": "d", "data_md5": "m", "data_rows": 1, "config_sha256": "c", "seed": 42,
	"housectl_version": "v", "go_version": "go", "host": "h", "pid": 1}}`
	s, err := seal.OfJSON([]byte(old))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "california", "20261101T100000000000-aaaaaa")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The record as it was: its values' spelling kept, its seal added.
	b := []byte(old[:len(old)-1] + `, "seal": "` + s + `"}`)
	if err := os.WriteFile(filepath.Join(dir, RunFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	read := func() *Run {
		t.Helper()
		r, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	ParamTypes = nil
	r := read()
	if r.Params["tol"] != "1e-07" || r.Params["max_features"] != "1" || r.Params["extra"] != "2.5" {
		t.Errorf("without types: %v", r.Params)
	}
	ParamTypes = all.DefaultParams
	t.Cleanup(func() { ParamTypes = nil })
	r = read()
	for k, want := range map[string]string{"tol": "1e-07", "max_features": "1.0", "subsample": "1.0", "l2_regularization": "0.0",
		"max_iter": "100", "early_stopping": "False", "rotations": "None", "extra": "2.5", "count": "3", "learning_rate": "0.1"} {
		if r.Params[k] != want {
			t.Errorf("params.%s = %q, want %q", k, r.Params[k], want)
		}
	}
	for _, filter := range []string{"params.tol = '1e-07'", "params.max_features = '1.0'", "params.early_stopping = 'False'"} {
		f, err := ParseFilter(filter)
		if err != nil || !f.Match(r) {
			t.Errorf("%s does not match the legacy run: %v", filter, err)
		}
	}
}
