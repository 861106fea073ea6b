package bucket

import (
	"bytes"
	"crypto/md5" //nolint:gosec // the tests check what the package checks
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/exitcode"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m)) }

func open(t *testing.T, url string, o Options) *Bucket {
	t.Helper()
	b, err := Open(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func serverOptions(s *s3test.Server) Options {
	return Options{EndpointURL: s.Endpoint, AccessKeyID: s.AccessKey, SecretAccessKey: s.SecretKey, Region: s.Region}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]Location{
		"s3://b":           {Bucket: "b"},
		"s3://b/":          {Bucket: "b"},
		"s3://b/p/q/":      {Bucket: "b", Prefix: "p/q"},
		"s3://my-bucket/x": {Bucket: "my-bucket", Prefix: "x"},
	} {
		if got, err := ParseURL(in); err != nil || got != want {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "b/p", "s3:/b", "s3://", "gs://b/p", "s3://b?x=1"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// Against the real server: objects, listing by pages, conditional writes.
func TestObjectsOnARealServer(t *testing.T) {
	srv := s3test.Get(t)
	b := open(t, srv.Bucket(t)+"/team/data", serverOptions(srv))
	ctx := t.Context()
	if ok, err := b.Has(ctx, "a"); err != nil || ok {
		t.Fatalf("Has before Put: %v %v", ok, err)
	}
	tag, err := b.Put(ctx, "a", []byte("one"), Cond{IfAbsent: true})
	if err != nil || tag == "" {
		t.Fatalf("Put: %q %v", tag, err)
	}
	if _, err := b.Put(ctx, "a", []byte("two"), Cond{IfAbsent: true}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("second create-once Put: %v", err)
	}
	if _, err := b.Put(ctx, "a", []byte("two"), Cond{IfMatch: "0123"}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("Put on a stale ETag: %v", err)
	}
	tag2, err := b.Put(ctx, "a", []byte("two"), Cond{IfMatch: tag})
	if err != nil || tag2 == tag {
		t.Fatalf("compare-and-swap Put: %q %v", tag2, err)
	}
	data, got, err := b.Get(ctx, "a")
	if err != nil || string(data) != "two" || got != tag2 {
		t.Fatalf("Get: %q %q %v", data, got, err)
	}
	if _, _, err := b.Get(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get of a missing key: %v", err)
	}
	// 2,500 keys: three pages.
	for i := range 2500 {
		if _, err := b.Put(ctx, fmt.Sprintf("many/%04d", i), []byte{byte(i)}, Cond{}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for o, err := range b.List(ctx, "many/") {
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("many/%04d", n); o.Name != want || o.Size != 1 {
			t.Fatalf("listing %d: %+v, want %s", n, o, want)
		}
		n++
	}
	if n != 2500 {
		t.Fatalf("listed %d", n)
	}
}

// A file goes up and comes down verified; a large one in parts.
func TestFilesOnARealServer(t *testing.T) {
	srv := s3test.Get(t)
	b := open(t, srv.Bucket(t), serverOptions(srv))
	ctx := t.Context()
	dir := t.TempDir()
	for _, size := range []int{0, 5, MultipartThreshold + 3<<20} {
		data := bytes.Repeat([]byte("housectl"), size/8+1)[:size]
		sum := md5.Sum(data) //nolint:gosec
		want := hex.EncodeToString(sum[:])
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := b.PutFile(ctx, "f", src, want, 4); err != nil {
			t.Fatalf("PutFile %d bytes: %v", size, err)
		}
		dst := filepath.Join(dir, "out", "dst")
		if err := b.GetFile(ctx, "f", dst, want, 4); err != nil {
			t.Fatalf("GetFile %d bytes: %v", size, err)
		}
		if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes came back as %d", size, len(got))
		}
		// A name the content does not match: refused both ways, and
		// nothing is written.
		var me *MismatchError
		if err := b.PutFile(ctx, "g", src, "00000000000000000000000000000000", 4); !errors.As(err, &me) {
			t.Fatalf("PutFile under a wrong name (%d bytes): %v", size, err)
		}
		if ok, _ := b.Has(ctx, "g"); ok {
			t.Fatalf("a mismatched upload of %d bytes left an object", size)
		}
		bad := filepath.Join(dir, "bad")
		if err := b.GetFile(ctx, "f", bad, "00000000000000000000000000000000", 4); !errors.As(err, &me) {
			t.Fatalf("GetFile under a wrong name: %v", err)
		}
		if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a mismatched download reached its destination: %v", err)
		}
	}
}

// Wrong credentials, a missing bucket and an unreachable endpoint are
// each their own clear error and exit code.
func TestErrorsAreClassified(t *testing.T) {
	srv := s3test.Get(t)
	url := srv.Bucket(t)
	ctx := t.Context()
	wrong := serverOptions(srv)
	wrong.SecretAccessKey = "not-the-secret"
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	unreachable := serverOptions(srv)
	unreachable.EndpointURL = closed
	for _, c := range []struct {
		name string
		url  string
		o    Options
		code int
	}{
		{"wrong credentials", url, wrong, exitcode.Denied},
		{"missing bucket", "s3://no-such-bucket-here", serverOptions(srv), exitcode.NoBucket},
		{"unreachable endpoint", url, unreachable, exitcode.Unreachable},
	} {
		b := open(t, c.url, c.o)
		_, err := b.Put(ctx, "k", []byte("x"), Cond{})
		var e *Error
		if !errors.As(err, &e) || e.ExitCode() != c.code {
			t.Errorf("%s: %v (%T), want exit %d", c.name, err, err, c.code)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		for _, err := range b.List(ctx, "") {
			if !errors.As(err, &e) || e.ExitCode() != c.code {
				t.Errorf("%s, listing: %v", c.name, err)
			}
		}
	}
}

// Throttling and 5xx answers are retried with back-off: through a proxy
// that answers every third request with S3's 503 SlowDown (or a 500),
// every transfer still completes, verified.
func TestRetriesThrottlingAndServerErrors(t *testing.T) {
	srv := s3test.Get(t)
	url := srv.Bucket(t)
	target, _ := neturl.Parse(srv.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var n, refused atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 3 {
		case 0:
			refused.Add(1)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		case 1:
			if r.Method == http.MethodGet && n.Load()%5 == 1 {
				refused.Add(1)
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	o := serverOptions(srv)
	o.EndpointURL = front.URL
	o.MaxBackoff = 50 * time.Millisecond // the SDK's back-off, shortened for the test
	b := open(t, url, o)
	dir := t.TempDir()
	for i := range 20 {
		data := []byte(fmt.Sprintf("object %d", i))
		src := filepath.Join(dir, "src")
		if err := os.WriteFile(src, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := b.PutFile(t.Context(), fmt.Sprint(i), src, md5hexOf(data), 1); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if err := b.GetFile(t.Context(), fmt.Sprint(i), filepath.Join(dir, "out", fmt.Sprint(i)), md5hexOf(data), 1); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
	}
	if refused.Load() < 10 {
		t.Fatalf("only %d requests were refused", refused.Load())
	}
	t.Logf("%d of %d requests refused, all retried", refused.Load(), n.Load())
}

// DVC's ssl_verify: a server whose certificate the system does not
// trust is refused, unless ssl_verify is false or names its CA bundle.
func TestSSLVerify(t *testing.T) {
	srv := s3test.Get(t)
	url := srv.Bucket(t)
	target, _ := neturl.Parse(srv.Endpoint)
	front := httptest.NewTLSServer(httputil.NewSingleHostReverseProxy(target))
	defer front.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw})
	if err := os.WriteFile(ca, pemData, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", "") // this machine's bundle does not know the test's CA either
	for _, c := range []struct {
		verify string
		ok     bool
	}{{"", false}, {"true", false}, {"false", true}, {ca, true}} {
		o := serverOptions(srv)
		o.EndpointURL, o.SSLVerify, o.MaxBackoff = front.URL, c.verify, time.Millisecond
		b := open(t, url, o)
		_, err := b.Put(t.Context(), "k", []byte("x"), Cond{})
		if (err == nil) != c.ok {
			t.Errorf("ssl_verify %q: %v", c.verify, err)
		}
	}
}
