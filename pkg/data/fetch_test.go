package data_test

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/data"
)

// smallArchive is a synthetic cal_housing.tgz with two data rows.
func smallArchive(t *testing.T) []byte {
	return testenv.TarGz(t,
		testenv.Entry{Name: "CaliforniaHousing/", Type: tar.TypeDir},
		testenv.Entry{Name: "CaliforniaHousing/cal_housing.data", Body: "-122.23,37.88,41,880,129,322,126,8.3252,452600\n-120.5,35.25,7,10,3,9,3,1.5,100000\n"},
		testenv.Entry{Name: "CaliforniaHousing/cal_housing.domain", Body: "longitude: continuous.\n"},
	)
}

func options(t *testing.T, url, sum string) data.FetchOptions {
	dir := t.TempDir()
	return data.FetchOptions{
		URL:            url,
		SHA256:         sum,
		Archive:        filepath.Join(dir, "data", "cal_housing.tgz"),
		RawDir:         filepath.Join(dir, "data", "raw"),
		Path:           filepath.Join(dir, "data", "california.csv"),
		Timeout:        5 * time.Second,
		Retries:        3,
		RetryBackoff:   time.Millisecond,
		MaxMemberBytes: 8 << 20,
	}
}

// files lists every file under the options' data directory.
func files(t *testing.T, o data.FetchOptions) []string {
	t.Helper()
	var out []string
	root := filepath.Dir(o.Archive)
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func TestFetchHTTPThenUpToDate(t *testing.T) {
	real, err := os.ReadFile(testenv.CalHousingArchive(t))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/files/5976036" {
			http.Redirect(w, r, "/blob/cal_housing.tgz", http.StatusFound)
			return
		}
		hits.Add(1)
		_, _ = w.Write(real)
	}))
	defer srv.Close()

	o := options(t, srv.URL+"/files/5976036", testenv.ArchiveSHA256)
	res, err := data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Downloaded || res.Rows != 20640 || res.Bytes != int64(len(real)) || res.UpToDate {
		t.Errorf("first fetch: %+v", res)
	}
	want := []string{"cal_housing.tgz", "california.csv", "raw/CaliforniaHousing/cal_housing.data", "raw/CaliforniaHousing/cal_housing.domain"}
	if got := files(t, o); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("files = %v, want %v", got, want)
	}
	csv, _ := os.ReadFile(o.Path)
	if got := testenv.SHA256(csv); got != goldenFrameSHA256 {
		t.Errorf("california.csv sha256 = %s, want %s", got, goldenFrameSHA256)
	}

	res, err = data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded || !res.UpToDate || len(res.Written) != 0 || res.Rows != 20640 {
		t.Errorf("second fetch: %+v", res)
	}
	if hits.Load() != 1 {
		t.Errorf("server hit %d times, want 1", hits.Load())
	}

	// A derived file edited by hand is restored without a download.
	if err := os.WriteFile(o.Path, []byte("edited"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded || len(res.Written) != 1 || res.Written[0] != o.Path {
		t.Errorf("repair fetch: %+v", res)
	}
}

func TestFetchFileURL(t *testing.T) {
	o := options(t, "file://"+testenv.CalHousingArchive(t), testenv.ArchiveSHA256)
	res, err := data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Downloaded || res.Rows != 20640 {
		t.Errorf("%+v", res)
	}
	o.URL = "file:///does/not/exist.tgz"
	o.Archive += ".other"
	if _, err := data.Fetch(t.Context(), o); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v", err)
	}
}

func TestFetchChecksumMismatchLeavesNothing(t *testing.T) {
	arch := smallArchive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(arch) }))
	defer srv.Close()
	o := options(t, srv.URL, testenv.ArchiveSHA256)
	res, err := data.Fetch(t.Context(), o)
	var ce *data.ChecksumError
	if !errors.As(err, &ce) || !errors.Is(err, data.ErrIntegrity) {
		t.Fatalf("err = %v, want a ChecksumError", err)
	}
	if ce.Got != testenv.SHA256(arch) || res.Attempts != 1 {
		t.Errorf("got %s after %d attempts", ce.Got, res.Attempts)
	}
	if got := files(t, o); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
}

// flaky serves the archive after failing the first n requests in the way fail says.
func flaky(t *testing.T, arch []byte, n int32, fail func(w http.ResponseWriter)) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= n {
			fail(w)
			return
		}
		_, _ = w.Write(arch)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func truncate(arch []byte) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", "999999")
		_, _ = w.Write(arch[:len(arch)/2])
		// Returning with fewer bytes than announced makes net/http close
		// the connection: the client sees an unexpected EOF.
	}
}

func TestFetchRetries(t *testing.T) {
	arch := smallArchive(t)
	sum := testenv.SHA256(arch)
	tests := []struct {
		name      string
		failures  int32
		fail      func(w http.ResponseWriter)
		retries   int
		wantErr   string
		wantCalls int32
	}{
		{"500 then success", 1, func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) }, 3, "", 2},
		{"503 twice then success", 2, func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}, 3, "", 3},
		{"truncated then success", 1, truncate(arch), 3, "", 2},
		{"always truncated", 100, truncate(arch), 2, "gave up after 3 attempts", 3},
		{"always 500", 100, func(w http.ResponseWriter) { http.Error(w, "boom", http.StatusInternalServerError) }, 1, "500 Internal Server Error", 2},
		{"404 is not retried", 100, func(w http.ResponseWriter) { http.NotFound(w, nil) }, 3, "404 Not Found: check data.url", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, calls := flaky(t, arch, tt.failures, tt.fail)
			o := options(t, srv.URL, sum)
			o.Retries = tt.retries
			var notes []string
			o.Notify = func(m string) { notes = append(notes, m) }
			res, err := data.Fetch(t.Context(), o)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Rows != 2 || res.Attempts != int(tt.wantCalls) {
					t.Errorf("%+v", res)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if got := files(t, o); len(got) != 0 {
					t.Errorf("files left behind: %v", got)
				}
			}
			if calls.Load() != tt.wantCalls {
				t.Errorf("server called %d times, want %d", calls.Load(), tt.wantCalls)
			}
			retries := 0
			for _, n := range notes {
				if strings.Contains(n, "retrying in") {
					retries++
				}
			}
			if retries != int(tt.wantCalls)-1 {
				t.Errorf("%d retry notes, want %d: %q", retries, tt.wantCalls-1, notes)
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	arch := smallArchive(t)
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write(arch[:10])
		w.(http.Flusher).Flush()
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	o := options(t, srv.URL, testenv.SHA256(arch))
	o.Timeout = 50 * time.Millisecond
	o.Retries = 1
	res, err := data.Fetch(t.Context(), o)
	if err == nil || !strings.Contains(err.Error(), "timed out after 50ms") {
		t.Fatalf("err = %v", err)
	}
	if res.Attempts != 2 {
		t.Errorf("attempts = %d, want 2", res.Attempts)
	}
	if got := files(t, o); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
}

func TestFetchCancelLeavesNoPartialFile(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		_, _ = w.Write(make([]byte, 5000))
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	o := options(t, srv.URL, testenv.ArchiveSHA256)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-started; cancel() }()
	_, err := data.Fetch(ctx, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := files(t, o); len(got) != 0 {
		t.Errorf("files left behind: %v", got)
	}
}

func TestFetchRedownloadsWrongArchive(t *testing.T) {
	arch := smallArchive(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(arch) }))
	defer srv.Close()
	o := options(t, srv.URL, testenv.SHA256(arch))
	if err := os.MkdirAll(filepath.Dir(o.Archive), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.Archive, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Downloaded {
		t.Error("a kept archive with the wrong checksum must be downloaded again")
	}
}

func TestFetchRejectsBadURL(t *testing.T) {
	o := options(t, "ftp://example.org/x.tgz", testenv.ArchiveSHA256)
	if _, err := data.Fetch(t.Context(), o); err == nil || !strings.Contains(err.Error(), `scheme "ftp"`) {
		t.Errorf("err = %v", err)
	}
}

func TestFetchRefusesUnsafeArchives(t *testing.T) {
	good := testenv.Entry{Name: "CaliforniaHousing/cal_housing.data", Body: "1,2,3,4,5,6,7,8,9\n"}
	tests := []struct {
		name    string
		entries []testenv.Entry
		max     int64
		want    string
	}{
		{"dot-dot", []testenv.Entry{good, {Name: "../evil.sh", Body: "x"}}, 0, `climbs out`},
		{"nested dot-dot", []testenv.Entry{{Name: "a/../../evil", Body: "x"}, good}, 0, `climbs out`},
		{"absolute", []testenv.Entry{good, {Name: "/etc/evil", Body: "x"}}, 0, "absolute path"},
		{"symlink", []testenv.Entry{good, {Name: "link", Type: tar.TypeSymlink, Linkname: "/etc/passwd"}}, 0, "is a link"},
		{"hard link", []testenv.Entry{good, {Name: "hl", Type: tar.TypeLink, Linkname: "CaliforniaHousing/cal_housing.data"}}, 0, "is a link"},
		{"fifo", []testenv.Entry{good, {Name: "pipe", Type: tar.TypeFifo}}, 0, "not a regular file"},
		{"oversized member", []testenv.Entry{good, {Name: "big", Body: strings.Repeat("x", 2000)}}, 1000, "over the 1000-byte limit"},
		{"bomb", []testenv.Entry{good, {Name: "a", Body: strings.Repeat("x", 900)}, {Name: "b", Body: strings.Repeat("x", 900)}, {Name: "c", Body: strings.Repeat("x", 900)}, {Name: "d", Body: strings.Repeat("x", 900)}, {Name: "e", Body: strings.Repeat("x", 900)}}, 1000, "add up to more than"},
		{"backslash", []testenv.Entry{good, {Name: `..\evil`, Body: "x"}}, 0, "backslash"},
		{"duplicate", []testenv.Entry{good, good}, 0, "appears twice"},
		{"no data member", []testenv.Entry{{Name: "other.txt", Body: "x"}}, 0, "no CaliforniaHousing/cal_housing.data"},
		{"truncated member", []testenv.Entry{{Name: "CaliforniaHousing/cal_housing.data", Size: 5000}}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arch := testenv.TarGz(t, tt.entries...)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(arch) }))
			defer srv.Close()
			o := options(t, srv.URL, testenv.SHA256(arch))
			if tt.max > 0 {
				o.MaxMemberBytes = tt.max
			}
			_, err := data.Fetch(t.Context(), o)
			var ae *data.ArchiveError
			if !errors.As(err, &ae) || !errors.Is(err, data.ErrIntegrity) {
				t.Fatalf("err = %v, want an ArchiveError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			// The verified archive is kept; nothing was extracted or derived.
			if got := files(t, o); len(got) != 1 || got[0] != "cal_housing.tgz" {
				t.Errorf("files = %v, want only the archive", got)
			}
			parent := filepath.Dir(filepath.Dir(o.Archive))
			if _, err := os.Stat(filepath.Join(parent, "evil.sh")); err == nil {
				t.Error("a member escaped the target directory")
			}
		})
	}
}

func TestReadArchiveRejectsNonGzip(t *testing.T) {
	_, err := data.ReadArchive(t.Context(), strings.NewReader("plain text"), 1<<20)
	if err == nil || !strings.Contains(err.Error(), "not a gzip file") {
		t.Errorf("err = %v", err)
	}
	_, err = data.ReadArchive(t.Context(), io.LimitReader(strings.NewReader(string(smallArchive(t))), 30), 1<<20)
	if err == nil {
		t.Error("a cut archive must be refused")
	}
}

// BenchmarkFetchUpToDate is the second `data fetch`: archive in place,
// outputs current, nothing to write.
func BenchmarkFetchUpToDate(b *testing.B) {
	dir := b.TempDir()
	o := data.FetchOptions{
		URL: "file://" + testenv.CalHousingArchive(b), SHA256: testenv.ArchiveSHA256,
		Archive: dir + "/a.tgz", RawDir: dir + "/raw", Path: dir + "/c.csv",
		Timeout: time.Minute, MaxMemberBytes: 64 << 20,
	}
	if _, err := data.Fetch(context.Background(), o); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := data.Fetch(context.Background(), o)
		if err != nil || !res.UpToDate {
			b.Fatal(res, err)
		}
	}
}

func TestFetchHTTPS(t *testing.T) {
	arch := smallArchive(t)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(arch) }))
	defer srv.Close()
	o := options(t, srv.URL+"/cal_housing.tgz", testenv.SHA256(arch))
	// An untrusted certificate is refused, not retried.
	if _, err := data.Fetch(t.Context(), o); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	o.Client = srv.Client() // trusts the test server's certificate
	res, err := data.Fetch(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Downloaded || res.Rows != 2 || res.Attempts != 1 {
		t.Errorf("%+v", res)
	}
}
