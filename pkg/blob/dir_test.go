package blob

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/bucket"
)

// stores are the implementations every behaviour is checked on: a
// directory, and a bucket on a real S3 server.
func stores(t *testing.T) map[string]func(*testing.T) Store {
	return map[string]func(*testing.T) Store{
		"dir": func(t *testing.T) Store { return &Dir{Root: t.TempDir()} },
		"s3": func(t *testing.T) Store {
			srv := s3test.Get(t)
			b, err := bucket.Open(t.Context(), srv.Bucket(t)+"/registry", bucket.Options{EndpointURL: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
			if err != nil {
				t.Fatal(err)
			}
			return &S3{B: b}
		},
	}
}

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func TestConditionalPuts(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { conditionalPuts(t, open(t)) })
	}
}

func TestCompareAndSwapLosesNothing(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) { compareAndSwapLosesNothing(t, open(t)) })
	}
}

func conditionalPuts(t *testing.T, d Store) {
	ctx := t.Context()
	if _, _, err := d.Get(ctx, "m/head.json"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	e1, err := d.Put(ctx, "m/head.json", []byte("one"), Cond{IfAbsent: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(ctx, "m/head.json", []byte("two"), Cond{IfAbsent: true}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("IfAbsent over an object: %v", err)
	}
	if _, err := d.Put(ctx, "m/head.json", []byte("two"), Cond{IfMatch: "0000"}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("IfMatch with a stale ETag: %v", err)
	}
	e2, err := d.Put(ctx, "m/head.json", []byte("two"), Cond{IfMatch: e1})
	if err != nil || e2 == e1 {
		t.Fatalf("IfMatch with the current ETag: %q, %v", e2, err)
	}
	b, e, err := d.Get(ctx, "m/head.json")
	if err != nil || string(b) != "two" || e != e2 {
		t.Fatalf("Get: %q %q %v", b, e, err)
	}
	if e, err := d.Stat(ctx, "m/head.json"); err != nil || e != e2 {
		t.Fatalf("Stat: %q %v, want the ETag %q", e, err, e2)
	}
	if _, err := d.Stat(ctx, "m/none.json"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Stat of a missing key: %v", err)
	}
	if _, err := d.Put(ctx, "m/gone.json", []byte("x"), Cond{IfMatch: e1}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("IfMatch on a missing object: %v", err)
	}
	if err := d.Delete(ctx, "m/head.json"); err != nil {
		t.Fatal(err)
	}
	if err := d.Delete(ctx, "m/head.json"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("second Delete: %v", err)
	}
	for _, bad := range []string{"", "/abs", "../up", "m/.lock", "a//b"} {
		if _, err := d.Put(ctx, bad, nil, Cond{}); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

// Concurrent compare-and-swap: of N writers that read the same ETag, one
// wins; every increment made by retrying is kept.
func compareAndSwapLosesNothing(t *testing.T, d Store) {
	ctx := t.Context()
	if _, err := d.Put(ctx, "n", []byte{0}, Cond{IfAbsent: true}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 20
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				for {
					b, e, err := d.Get(ctx, "n")
					if err != nil {
						t.Error(err)
						return
					}
					if _, err := d.Put(ctx, "n", []byte{b[0] + 1}, Cond{IfMatch: e}); err == nil {
						break
					} else if !errors.Is(err, ErrPrecondition) {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b, _, _ := d.Get(ctx, "n")
	if b[0] != writers*each {
		t.Errorf("counter %d, want %d", b[0], writers*each)
	}
}

func TestDirListAndSweep(t *testing.T) {
	ctx := t.Context()
	d := &Dir{Root: t.TempDir()}
	for _, k := range []string{"a/versions/2.json", "a/versions/10.json", "a/head.json", "b/versions/1.json"} {
		if _, err := d.Put(ctx, k, []byte(k), Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	// An interrupted write's temporary file, a lock and a stale one.
	tmp := filepath.Join(d.Root, "a", "versions", ".3.json.123.tmp")
	if err := os.WriteFile(tmp, []byte("part"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.Root, "a", ".lock"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var keys []string
	ls, err := d.List(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ls {
		keys = append(keys, i.Key)
	}
	if want := []string{"a/head.json", "a/versions/10.json", "a/versions/2.json"}; !slices.Equal(keys, want) {
		t.Errorf("List a/ = %v, want %v", keys, want)
	}
	if ls, err := d.List(ctx, "nothing/"); err != nil || len(ls) != 0 {
		t.Errorf("List of a missing prefix: %v, %v", ls, err)
	}
	// A temporary file newer than the lock is someone's work in progress.
	old := time.Now().Add(-time.Hour)
	if n, err := d.Sweep("a/", old); err != nil || n != 0 {
		t.Errorf("Sweep before the file: %d, %v", n, err)
	}
	if err := os.Chtimes(tmp, old.Add(-time.Minute), old.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if n, err := d.Sweep("a/", old); err != nil || n != 1 {
		t.Errorf("Sweep: %d, %v", n, err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file still there: %v", err)
	}
}
