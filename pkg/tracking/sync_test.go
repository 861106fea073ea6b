package tracking

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/bucket"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

// PushTree copies what is final and only that; PullTree brings it back
// equal, a large artifact (in parts) included.
func TestPushPullTree(t *testing.T) {
	srv := s3test.Get(t)
	dir := t.TempDir()
	s := &Store{Dir: dir, Now: time.Now}
	done, err := s.Start("california", "gbt", "gradient_boosting", map[string]string{"max_iter": "10"}, nil, Lineage{DataMD5: "m"})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("artifact"), (bucket.MultipartThreshold+(1<<20))/8)
	if err := s.WriteArtifact(done, "model.bin", big); err != nil {
		t.Fatal(err)
	}
	if err := s.End(done, StatusFinished, map[string]float64{"rmse": 0.5}, nil, nil); err != nil {
		t.Fatal(err)
	}
	running, err := s.Start("california", "linear", "linear", nil, nil, Lineage{})
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"predictions.db": "log", "models/california/aliases.json": `{}`,
		"models/california/versions/1.json": `{}`, "models/california/.lock": "", "models/.cas.lock": ""} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := bucket.Open(t.Context(), srv.Bucket(t)+"/team", bucket.Options{EndpointURL: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	res, err := PushTree(t.Context(), dir, b, 4)
	if err != nil || res.Copied != 4 || len(res.Conflicts) != 0 || !slices.Equal(res.Skipped, []string{"california/" + running.ID}) {
		t.Fatalf("push: %+v %v", res, err)
	}
	var keys []string
	for o, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Name)
	}
	want := []string{"california/" + done.ID + "/artifacts/model.bin", "california/" + done.ID + "/run.json",
		"models/california/aliases.json", "models/california/versions/1.json"}
	if !slices.Equal(keys, want) {
		t.Fatalf("bucket keys %v, want %v", keys, want)
	}
	other := t.TempDir()
	res, err = PullTree(t.Context(), b, other, 4)
	if err != nil || res.Copied != 4 {
		t.Fatalf("pull: %+v %v", res, err)
	}
	got, err := Load(filepath.Join(other, "california", done.ID))
	if err != nil || got.Seal != done.Seal {
		t.Fatalf("the pulled run: %+v %v", got, err)
	}
	if b, _ := os.ReadFile(filepath.Join(other, "california", done.ID, "artifacts", "model.bin")); !bytes.Equal(b, big) {
		t.Fatal("the pulled artifact differs")
	}
	if res, err := PushTree(t.Context(), other, b, 4); err != nil || res.Same != 4 || res.Copied != 0 {
		t.Fatalf("a second push: %+v %v", res, err)
	}
}

// Pushing into a bucket that holds another registry's version 1: the
// version conflicts, and the head that would name it is not written
// either, so the bucket's aliases never point at versions they were not
// decided on.
func TestPushBlocksHeadOfConflictingModel(t *testing.T) {
	srv := s3test.Get(t)
	b, err := bucket.Open(t.Context(), srv.Bucket(t)+"/team", bucket.Options{EndpointURL: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Put(t.Context(), "models/california/versions/1.json", []byte(`{"theirs": 1}`), bucket.Cond{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"models/california/versions/1.json": `{"ours": 1}`, "models/california/aliases.json": `{"aliases": {"production": 1}}`,
		"models/other/versions/1.json": `{}`, "models/other/aliases.json": `{}`} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := PushTree(t.Context(), dir, b, 4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"models/california/versions/1.json", "models/california/aliases.json"}; !slices.Equal(res.Conflicts, want) || res.Copied != 2 {
		t.Fatalf("push: %+v, want conflicts %v and the other model copied", res, want)
	}
	if ok, err := b.Has(t.Context(), "models/california/aliases.json"); err != nil || ok {
		t.Fatalf("the head of a conflicting model was written (%v)", err)
	}
}
