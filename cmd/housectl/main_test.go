package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/cli"
)

// TestMain lets testscript run the real housectl main as a command named
// housectl: every script line `exec housectl ...` is a new process running
// exactly what the installed binary runs.
func TestMain(m *testing.M) {
	testscript.Main(s3test.Wrap(m), map[string]func(){
		"housectl": func() { os.Exit(cli.Main()) },
	})
}

// TestScripts runs testdata/script/*.txtar. Each script gets:
//
//	$ARCHIVE  the real cal_housing.tgz (../shared/datasets)
//	$GERON    the dirty geron_housing.csv
//	$REPO     the repository root (for configs/)
//	$SERVER   an HTTP server on 127.0.0.1 with the routes of dataServer
//	$EVIL_SHA256, $SMALL_SHA256  checksums of the served synthetic archives
func TestScripts(t *testing.T) {
	real, err := os.ReadFile(testenv.CalHousingArchive(t))
	if err != nil {
		t.Fatal(err)
	}
	evil := testenv.TarGz(t,
		testenv.Entry{Name: "CaliforniaHousing/cal_housing.data", Body: "1,2,3,4,5,6,7,8,9\n"},
		testenv.Entry{Name: "../escaped.txt", Body: "pwned\n"},
	)
	small := testenv.TarGz(t,
		testenv.Entry{Name: "CaliforniaHousing/", Type: tar.TypeDir},
		testenv.Entry{Name: "CaliforniaHousing/cal_housing.data", Body: "-122.23,37.88,41,880,129,322,126,8.3252,452600\n-118.1,34.1,30,2000,400,1100,380,4.1,230000\n"},
	)
	ds := newDataServer(real, evil, small)
	srv := httptest.NewServer(ds)
	t.Cleanup(srv.Close) // scripts run as parallel subtests: close after them
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("ARCHIVE", testenv.CalHousingArchive(t))
			env.Setenv("GERON", testenv.GeronCSV(t))
			env.Setenv("REPO", repo)
			env.Setenv("SERVER", srv.URL)
			env.Setenv("EVIL_SHA256", testenv.SHA256(evil))
			env.Setenv("SMALL_SHA256", testenv.SHA256(small))
			env.Setenv("HOUSECTL_DATA_RETRY_BACKOFF", "10ms")
			env.Setenv("NO_COLOR", "")
			env.Setenv("HOUSECTL_FORCE_TTY", "")
			// DVC's user and machine configuration files, isolated from this machine's.
			env.Setenv("DVC_GLOBAL_CONFIG_DIR", filepath.Join(env.WorkDir, ".dvc-global"))
			env.Setenv("DVC_SYSTEM_CONFIG_DIR", filepath.Join(env.WorkDir, ".dvc-system"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":      cmdExitCode,
			"sameartifacts": cmdSameArtifacts,
			// waitfile GLOB: wait (up to 60s) until a file matches GLOB
			// (relative to the script's directory).
			"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: waitfile <glob>")
				}
				for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					if m, _ := filepath.Glob(ts.MkAbs(args[0])); len(m) > 0 {
						return
					}
				}
				ts.Fatalf("no file matches %s", args[0])
			},
			"serve-start": cmdServeStart,
			// postgres: start a throwaway PostgreSQL database for this
			// script and set $PGDSN to it.
			"postgres": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: postgres")
				}
				ts.Setenv("PGDSN", testenv.Postgres(scriptTB{ts}))
			},
			// s3: a fresh bucket on the test binary's S3 server
			// (SeaweedFS); $S3 is its URL, and AWS_* point at the server.
			"s3": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 0 {
					ts.Fatalf("usage: s3")
				}
				srv := s3test.Get(t)
				ts.Setenv("S3", srv.Bucket(t))
				ts.Setenv("S3_ENDPOINT", srv.Endpoint)
				ts.Setenv("S3_SECRET", srv.SecretKey)
				ts.Setenv("S3_KEY", srv.AccessKey)
				for _, kv := range srv.Env() {
					k, v, _ := strings.Cut(kv, "=")
					ts.Setenv(k, v)
				}
				ts.Setenv("AWS_CONFIG_FILE", ts.MkAbs(".aws-none"))
				ts.Setenv("AWS_SHARED_CREDENTIALS_FILE", ts.MkAbs(".aws-none"))
			},
			// s3put URL FILE: write FILE's bytes over every object that
			// matches URL (a path.Match pattern), unconditionally: a hand
			// edit of a shared store.
			"s3put": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 2 {
					ts.Fatalf("usage: s3put s3://BUCKET/KEY FILE")
				}
				srv := s3test.Get(t)
				loc, err := bucket.ParseURL(args[0])
				ts.Check(err)
				b, err := bucket.Open(context.Background(), "s3://"+loc.Bucket, bucket.Options{EndpointURL: srv.Endpoint, Region: srv.Region, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
				ts.Check(err)
				n := 0
				for o, err := range b.List(context.Background(), "") {
					ts.Check(err)
					if ok, _ := path.Match(loc.Prefix, o.Name); ok {
						_, err = b.Put(context.Background(), o.Name, []byte(ts.ReadFile(args[1])), bucket.Cond{})
						ts.Check(err)
						n++
					}
				}
				if n == 0 {
					ts.Fatalf("no object matches %s", args[0])
				}
			},
			// waitserved PATH REGEXP [Header:Value]...: GET $URL+PATH until
			// the body matches (up to 30 s), as a client watching a swap.
			"waitserved": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: waitserved PATH REGEXP [Header:Value]...")
				}
				re := regexp.MustCompile(args[1])
				var last string
				for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
					req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, ts.Getenv("URL")+args[0], nil)
					ts.Check(err)
					for _, h := range args[2:] {
						k, v, _ := strings.Cut(h, ":")
						req.Header.Set(k, v)
					}
					resp, err := http.DefaultClient.Do(req)
					ts.Check(err)
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if last = string(b); re.MatchString(last) {
						return
					}
				}
				ts.Fatalf("GET %s never matched %s; last: %s", args[0], args[1], last)
			},
			// serve-hup [@name]: send the server SIGHUP (it re-reads its
			// split and checks its models).
			"serve-hup": func(ts *testscript.TestScript, neg bool, args []string) {
				name, _ := serverName(args)
				v, ok := servers.Load(serverKey{ts, name})
				if !ok || neg {
					ts.Fatalf("usage: serve-hup [@name] (after serve-start)")
				}
				ts.Check(v.(*serveProc).cmd.Process.Signal(syscall.SIGHUP))
			},
			"serve-stop": cmdServeStop,
			"http":       cmdHTTP,
			"load":       cmdLoad,
			// waithit KEY: wait (up to 30s) until the server has seen the
			// request KEY, e.g. slow/one.
			"waithit": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) != 1 {
					ts.Fatalf("usage: waithit <key>")
				}
				if !ds.waitHit(args[0], 30*time.Second) {
					ts.Fatalf("the server never saw %s", args[0])
				}
			},
		},
	})
}

// cmdExitCode runs `exitcode N prog args...` and fails unless prog exits
// with status N. stdout and stderr are kept for the next commands.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode <status> <program> [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		got = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", strings.Join(args[1:], " "), got, want)
	}
}

type dataServer struct {
	http.Handler
	mu   sync.Mutex
	seen map[string]int
}

func (d *dataServer) hit(key string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.seen[key]++
	return d.seen[key]
}

func (d *dataServer) waitHit(key string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		d.mu.Lock()
		n := d.seen[key]
		d.mu.Unlock()
		if n > 0 {
			return true
		}
	}
	return false
}

// cmdSameArtifacts compares two `housectl train --json` outputs: every
// candidate's model artifact must have the same SHA-256 and the same
// metrics (reproducibility), while the run ids differ.
func cmdSameArtifacts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sameartifacts <a.json> <b.json>")
	}
	type cand struct {
		Model    string             `json:"model"`
		RunID    string             `json:"run_id"`
		Metrics  map[string]float64 `json:"metrics"`
		Artifact struct {
			SHA256 string `json:"sha256"`
		} `json:"artifact"`
	}
	read := func(name string) []cand {
		var r struct {
			Candidates []cand `json:"candidates"`
		}
		if err := json.Unmarshal([]byte(ts.ReadFile(name)), &r); err != nil {
			ts.Fatalf("%s: %v", name, err)
		}
		return r.Candidates
	}
	a, b := read(args[0]), read(args[1])
	if len(a) != len(b) || len(a) == 0 {
		ts.Fatalf("%d and %d candidates", len(a), len(b))
	}
	for i := range a {
		if a[i].Model != b[i].Model || a[i].Artifact.SHA256 != b[i].Artifact.SHA256 || a[i].Artifact.SHA256 == "" {
			ts.Fatalf("%s: artifact %s vs %s", a[i].Model, a[i].Artifact.SHA256, b[i].Artifact.SHA256)
		}
		for k, v := range a[i].Metrics {
			if b[i].Metrics[k] != v {
				ts.Fatalf("%s: metric %s %v vs %v", a[i].Model, k, v, b[i].Metrics[k])
			}
		}
		if a[i].RunID == b[i].RunID {
			ts.Fatalf("%s: the two trainings share run id %s", a[i].Model, a[i].RunID)
		}
	}
}

// newDataServer serves:
//
//	/files/5976036     a redirect to /blob/cal_housing.tgz, the real archive
//	/corrupt           the real archive with one byte changed
//	/truncated-always  a body cut short of its Content-Length, every time
//	/flaky/{id}        500 on the first request for id, then the real archive
//	/truncated-once/{id}  a cut body first, then the real archive
//	/evil              a tar with a ../ member
//	/small             a two-row archive
//	/slow/{id}         half the archive, then nothing until the client goes
//	/missing           404
func newDataServer(real, evil, small []byte) *dataServer {
	d := &dataServer{seen: map[string]int{}}
	first := func(key string) bool { return d.hit(key) == 1 }
	corrupt := append([]byte(nil), real...)
	corrupt[len(corrupt)/2] ^= 0xff
	cut := func(w http.ResponseWriter, b []byte) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b[:len(b)/3])
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/5976036", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/blob/cal_housing.tgz", http.StatusFound)
	})
	mux.HandleFunc("GET /blob/cal_housing.tgz", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "cal_housing.tgz", time.Time{}, bytes.NewReader(real)) // with Content-Length, as figshare does
	})
	mux.HandleFunc("GET /corrupt", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(corrupt) })
	mux.HandleFunc("GET /truncated-always", func(w http.ResponseWriter, _ *http.Request) { cut(w, real) })
	mux.HandleFunc("GET /flaky/{id}", func(w http.ResponseWriter, r *http.Request) {
		if first("flaky/" + r.PathValue("id")) {
			http.Error(w, "temporarily broken", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write(real)
	})
	mux.HandleFunc("GET /truncated-once/{id}", func(w http.ResponseWriter, r *http.Request) {
		if first("truncated/" + r.PathValue("id")) {
			cut(w, real)
			return
		}
		_, _ = w.Write(real)
	})
	mux.HandleFunc("GET /evil", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(evil) })
	mux.HandleFunc("GET /small", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(small) })
	mux.HandleFunc("GET /slow/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(real)))
		_, _ = w.Write(real[:len(real)/2])
		w.(http.Flusher).Flush()
		d.hit("slow/" + r.PathValue("id"))
		<-r.Context().Done()
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("no route %s", r.URL.Path), http.StatusNotFound)
	})
	d.Handler = mux
	return d
}

// servers are the housectl serve processes of running scripts.
var servers sync.Map // serverKey -> *serveProc

// serverKey names one server of one script: serve-start @NAME starts a
// second one (log serve-NAME.log, URL in $URL_NAME).
type serverKey struct {
	ts   *testscript.TestScript
	name string
}

// serverName takes an optional leading @NAME from args.
func serverName(args []string) (string, []string) {
	if len(args) > 0 && strings.HasPrefix(args[0], "@") {
		return args[0][1:], args[1:]
	}
	return "", args
}

type serveProc struct {
	cmd    *exec.Cmd
	stderr *os.File
	url    string
	exited chan error // cmd.Wait's result
}

// cmdServeStart runs `housectl serve --addr 127.0.0.1:0 ARGS...` in the
// background, waits until it listens, and sets $URL. Its standard error
// goes to serve.log in the script's directory.
func cmdServeStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: serve-start [@name] [args...]")
	}
	name, args := serverName(args)
	logName, urlVar := "serve.log", "URL"
	if name != "" {
		logName, urlVar = "serve-"+name+".log", "URL_"+name
	}
	bin, err := exec.LookPath("housectl")
	if p := ts.Getenv("PATH"); p != "" {
		for _, dir := range filepath.SplitList(p) {
			if _, e := os.Stat(filepath.Join(dir, "housectl")); e == nil {
				bin, err = filepath.Join(dir, "housectl"), nil
				break
			}
		}
	}
	ts.Check(err)
	logf, err := os.Create(ts.MkAbs(logName))
	ts.Check(err)
	cmd := exec.CommandContext(context.Background(), bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = ts.MkAbs(".")
	env := os.Environ()
	for _, k := range []string{"PATH", "HOME", "HOUSECTL_API_KEYS", "HOUSECTL_SERVE_UNSEEN_LABELS", "HOUSECTL_SERVE_RATE_LIMIT", "HOUSECTL_SERVE_RATE_BURST", "HOUSECTL_SERVE_RELOAD_INTERVAL", "HOUSECTL_SERVE_PROCS", "HOUSECTL_PREDICTIONS_OVERFLOW", "HOUSECTL_PREDICTIONS_PATH", "HOUSECTL_PREDICTIONS_FLUSH_INTERVAL", "HOUSECTL_PREDICTIONS_DSN"} {
		env = append(env, k+"="+ts.Getenv(k))
	}
	// A shared store's bucket, and the script's AWS settings where it has them.
	for _, k := range []string{"HOUSECTL_TRACKING_URI", "HOUSECTL_TRACKING_CACHE_DIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	ts.Check(cmd.Start())
	p := &serveProc{cmd: cmd, stderr: logf, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	servers.Store(serverKey{ts, name}, p)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(ts.MkAbs(logName))
		if i := bytes.Index(b, []byte(" on http://")); i >= 0 {
			rest := b[i+len(" on "):]
			if j := bytes.IndexAny(rest, " \n"); j > 0 {
				p.url = string(rest[:j])
				ts.Setenv(urlVar, p.url)
				return
			}
		}
		select {
		case err := <-p.exited:
			servers.Delete(serverKey{ts, name})
			ts.Fatalf("housectl serve exited (%v):\n%s", err, ts.ReadFile(logName))
		default:
		}
	}
	_ = cmd.Process.Kill()
	ts.Fatalf("housectl serve did not start:\n%s", ts.ReadFile(logName))
}

// cmdServeStop sends SIGTERM (or the named signal) and requires a clean
// exit 0 within 30 s.
func cmdServeStop(ts *testscript.TestScript, neg bool, args []string) {
	name, _ := serverName(args)
	logName := "serve.log"
	if name != "" {
		logName = "serve-" + name + ".log"
	}
	v, ok := servers.LoadAndDelete(serverKey{ts, name})
	if !ok || neg {
		ts.Fatalf("usage: serve-stop [@name] (after serve-start)")
	}
	p := v.(*serveProc)
	ts.Check(p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.exited:
		_ = p.stderr.Close()
		if err != nil {
			ts.Fatalf("housectl serve exited with %v:\n%s", err, ts.ReadFile(logName))
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		ts.Fatalf("housectl serve did not stop within 30s")
	}
}

// cmdHTTP: http METHOD PATH [@bodyfile | body] [Header:Value]... — the
// body goes to stdout, "status N" and the headers to stderr.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: http METHOD PATH [@file|body] [Header:Value]...")
	}
	var body io.Reader
	rest := args[2:]
	if len(rest) > 0 && !strings.Contains(rest[0], ":") || len(rest) > 0 && strings.HasPrefix(rest[0], "@") || len(rest) > 0 && strings.HasPrefix(rest[0], "{") {
		if strings.HasPrefix(rest[0], "@") {
			body = strings.NewReader(ts.ReadFile(rest[0][1:]))
		} else {
			body = strings.NewReader(rest[0])
		}
		rest = rest[1:]
	}
	req, err := http.NewRequestWithContext(context.Background(), args[0], ts.Getenv("URL")+args[1], body)
	ts.Check(err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range rest {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", b)
	fmt.Fprintf(ts.Stderr(), "status %d\n", resp.StatusCode)
	for k, vs := range resp.Header {
		fmt.Fprintf(ts.Stderr(), "%s: %s\n", k, strings.Join(vs, ", "))
	}
}

// cmdLoad: load N PATH @bodyfile — N POSTs from 8 goroutines; fails unless
// every one is a 200.
func cmdLoad(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 || !strings.HasPrefix(args[2], "@") {
		ts.Fatalf("usage: load N PATH @bodyfile")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	body := ts.ReadFile(args[2][1:])
	url := ts.Getenv("URL") + args[1]
	var next, failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				req, _ := http.NewRequestWithContext(context.Background(), "POST", url, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, b))
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		ts.Fatalf("%d of %d requests failed; first: %v", failed.Load(), n, first.Load())
	}
	fmt.Fprintf(ts.Stdout(), "%d requests, all 200\n", n)
}

// scriptTB lets testenv helpers fail and clean up through a script.
type scriptTB struct{ ts *testscript.TestScript }

func (scriptTB) Helper()                             {}
func (s scriptTB) Fatal(args ...any)                 { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s scriptTB) Fatalf(format string, args ...any) { s.ts.Fatalf(format, args...) }
func (s scriptTB) Cleanup(f func())                  { s.ts.Defer(f) }
