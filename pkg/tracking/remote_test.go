package tracking

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/exitcode"
)

// remoteStore is a store on a bucket of the test's S3 server, with a
// local copy of its own: one machine.
func remoteStore(t *testing.T, url string) *Store {
	t.Helper()
	srv := s3test.Get(t)
	b, err := bucket.Open(t.Context(), url, bucket.Options{EndpointURL: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	return &Store{Dir: filepath.Join(cache, "runs"), Now: time.Now, Remote: &Remote{B: b, Cache: cache}}
}

func finishedRun(t *testing.T, s *Store, model []byte) *Run {
	t.Helper()
	r, err := s.Start("california", "gbt", "gradient_boosting", map[string]string{"max_iter": "10"}, nil, Lineage{DataMD5: "m"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteArtifact(r, "model.bin", model); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteJSON(r, "history.json", []float64{1, 0.5}); err != nil {
		t.Fatal(err)
	}
	if err := s.End(r, StatusFinished, map[string]float64{"rmse": 0.5}, nil, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func keys(t *testing.T, b *bucket.Bucket) []string {
	t.Helper()
	var out []string
	for o, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Name)
	}
	return out
}

// A run ends on one machine and is in the bucket; another machine lists
// it, and fetches its model into the content-addressed cache, checked.
func TestRemoteStorePublishesAndReads(t *testing.T) {
	url := s3test.Get(t).Bucket(t) + "/ml"
	a := remoteStore(t, url)
	model := []byte("model bytes")
	r := finishedRun(t, a, model)
	want := []string{"california/" + r.ID + "/artifacts/model.bin", "california/" + r.ID + "/history.json", "california/" + r.ID + "/run.json"}
	if got := keys(t, a.Remote.B); !slices.Equal(got, want) {
		t.Fatalf("the bucket holds %v, want %v", got, want)
	}
	// A running run stays on its machine.
	if _, err := a.Start("california", "linear", "linear", nil, nil, Lineage{}); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, a.Remote.B); len(got) != 3 {
		t.Fatalf("a running run reached the bucket: %v", got)
	}

	b := remoteStore(t, url)
	runs, errs := b.List("")
	if len(errs) != 0 || len(runs) != 1 || runs[0].ID != r.ID || runs[0].Seal != r.Seal {
		t.Fatalf("the other machine lists %v %v", runs, errs)
	}
	if _, err := os.Stat(filepath.Join(runs[0].Dir(), "history.json")); err != nil {
		t.Errorf("the small files are not copied down: %v", err)
	}
	if _, err := os.Stat(filepath.Join(runs[0].Dir(), "artifacts", "model.bin")); err == nil {
		t.Error("an artifact was copied before any use")
	}
	p, err := b.ModelFile(t.Context(), runs[0])
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(model) || !strings.Contains(filepath.ToSlash(p), "/sha256/"+r.Artifacts[0].SHA256[:2]+"/") {
		t.Fatalf("the cached model %s: %q", p, got)
	}

	// A third machine, after the artifact was replaced in the bucket:
	// refused, exit 3, and not cached. The second keeps its checked copy.
	if _, err := a.Remote.B.Put(t.Context(), "california/"+r.ID+"/artifacts/model.bin", []byte("evil"), bucket.Cond{}); err != nil {
		t.Fatal(err)
	}
	c := remoteStore(t, url)
	cr, err := c.EnsureRun(t.Context(), "california", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ModelFile(t.Context(), cr)
	var ae *ArtifactError
	if !errors.As(err, &ae) || ae.ExitCode() != exitcode.Integrity {
		t.Fatalf("a tampered artifact: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(c.Remote.Cache, "sha256", "*", "*")); len(m) != 0 {
		t.Errorf("a tampered artifact was cached: %v", m)
	}
	if p2, err := b.ModelFile(t.Context(), runs[0]); err != nil || p2 != p {
		t.Errorf("the checked copy: %s %v", p2, err)
	}
}

// A run that ended while the bucket could not be reached is published by
// the next Sync; a file the bucket holds different is never overwritten.
func TestRemoteStoreCatchesUpAndNeverOverwrites(t *testing.T) {
	url := s3test.Get(t).Bucket(t) + "/ml"
	a := remoteStore(t, url)
	offline := &Store{Dir: a.Dir, Now: time.Now} // the same copy, no bucket
	r := finishedRun(t, offline, []byte("m"))
	if got := keys(t, a.Remote.B); len(got) != 0 {
		t.Fatalf("published without a bucket: %v", got)
	}
	if err := a.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, a.Remote.B); len(got) != 3 {
		t.Fatalf("after Sync the bucket holds %v", got)
	}
	// Publishing again is a no-op; a different file is an error.
	if err := a.Publish(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Remote.B.Put(t.Context(), "california/"+r.ID+"/history.json", []byte("[2]"), bucket.Cond{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(r.Dir(), "history.json")
	if err := a.Publish(t.Context(), r); err == nil || !strings.Contains(err.Error(), "differs from "+p) {
		t.Fatalf("publishing over a different object: %v", err)
	}
	// A Sync makes the copy what the bucket says.
	c := &Store{Dir: a.Dir, Now: time.Now, Remote: &Remote{B: a.Remote.B, Cache: a.Remote.Cache}}
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "[2]" {
		t.Errorf("the copy after a Sync: %q", b)
	}
}
