package web

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// A store kept in a bucket, as cmdutil.Stores makes one.
func bucketStore(t *testing.T, url, cache string) *tracking.Store {
	t.Helper()
	b, err := bucket.Open(t.Context(), url, bucket.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &tracking.Store{Dir: filepath.Join(cache, "s3", b.Bucket), Now: time.Now, Remote: &tracking.Remote{B: b, Cache: cache}}
}

func apiCall(t *testing.T, base, method, path, body string) map[string]any {
	t.Helper()
	st, out, _ := do(t, method, base+"/api/2.0/mlflow"+path, body, map[string]string{"Content-Type": "application/json"})
	if st != 200 {
		t.Fatalf("%s %s: %d %s", method, path, st, out)
	}
	var v map[string]any
	_ = json.Unmarshal([]byte(out), &v)
	return v
}

// MLflow's API over a store kept in a bucket: what a client logs through
// one machine's housectl ui (an experiment, a run, its artifact, a
// registered version, a tag after the end) is seen by another machine's,
// which shares nothing with it but the bucket.
func TestMLflowAPIOnABucket(t *testing.T) {
	srv := s3test.Get(t)
	srv.Setenv(t)
	url := srv.Bucket(t)
	open := func(cache string) (*Server, string) {
		store := bucketStore(t, url, cache)
		s, err := New(Options{Store: store, Registry: registry.Over(store, registry.Options{})})
		if err != nil {
			t.Fatal(err)
		}
		s.catalog.ResyncEvery = time.Nanosecond
		if err := s.Refresh(); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(s)
		t.Cleanup(ts.Close)
		return s, ts.URL
	}
	_, a := open(t.TempDir())
	exp := apiCall(t, a, "POST", "/experiments/create", `{"name": "team experiment"}`)["experiment_id"].(string)
	run := apiCall(t, a, "POST", "/runs/create", `{"experiment_id": "`+exp+`", "run_name": "r1"}`)["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
	apiCall(t, a, "POST", "/runs/log-batch", `{"run_id": "`+run+`", "params": [{"key": "alpha", "value": "0.5"}], "metrics": [{"key": "rmse", "value": 0.4, "timestamp": 1, "step": 0}]}`)
	if st, out, _ := do(t, "PUT", a+"/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/model/MLmodel", "flavors: {}\n", nil); st != 200 {
		t.Fatalf("upload: %d %s", st, out)
	}
	apiCall(t, a, "POST", "/runs/update", `{"run_id": "`+run+`", "status": "FINISHED"}`)
	apiCall(t, a, "POST", "/registered-models/create", `{"name": "shared"}`)
	apiCall(t, a, "POST", "/model-versions/create", `{"name": "shared", "source": "runs:/`+run+`/model", "run_id": "`+run+`"}`)
	apiCall(t, a, "POST", "/runs/set-tag", `{"run_id": "`+run+`", "key": "reviewed", "value": "yes"}`)

	b, bu := open(t.TempDir())
	x := apiCall(t, bu, "GET", "/experiments/get-by-name?experiment_name=team+experiment", "")["experiment"].(map[string]any)
	if x["experiment_id"] != exp {
		t.Errorf("the other machine sees experiment %v, want %s", x, exp)
	}
	got := apiCall(t, bu, "POST", "/runs/search", `{"experiment_ids": ["`+exp+`"], "filter": "params.alpha = '0.5' and tags.reviewed = 'yes'"}`)
	runs, _ := got["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("the other machine's search: %v", got)
	}
	st, body, _ := do(t, "GET", bu+"/api/2.0/mlflow-artifacts/artifacts/"+exp+"/"+run+"/artifacts/model/MLmodel", "", nil)
	if st != 200 || body != "flavors: {}\n" {
		t.Errorf("the artifact from the bucket: %d %q", st, body)
	}
	v := apiCall(t, bu, "GET", "/model-versions/get?name=shared&version=1", "")["model_version"].(map[string]any)
	if v["run_id"] != run || !strings.HasSuffix(v["source"].(string), "/model") {
		t.Errorf("the version from the bucket: %v", v)
	}
	// Serving it is refused with what it is.
	ver, err := b.reg.Version("shared", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.reg.Load(context.Background(), ver); err == nil || !strings.Contains(err.Error(), "external model") {
		t.Errorf("loading an external version: %v", err)
	}
}
