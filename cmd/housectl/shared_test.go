package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"go.yaml.in/yaml/v3"
)

// sharedProject is a project whose runs and registry live in a fresh
// bucket of the test's S3 server (tracking.uri), with versions 1..n of
// california registered (linear models, quick to train). fresh returns a
// new directory on the same bucket with an empty cache: another machine.
func sharedProject(t *testing.T, n int) (fresh func() *proj, url string) {
	t.Helper()
	srv := s3test.Get(t)
	url = srv.Bucket(t) + "/ml"
	env := append(chaosEnv(t), srv.Env()...)
	env = append(env, "HOUSECTL_TRACKING_URI="+url, "AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"))
	base := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: env}
	base.must("init")
	setConfig(t, base.dir, "cv_folds: 5", "cv_folds: 0")
	base.must("data", "fetch")
	for range n {
		base.must("train", "--model", "linear", "--register", "california")
	}
	if err := os.RemoveAll(filepath.Join(base.dir, "experiments")); err != nil {
		t.Fatal(err)
	}
	return func() *proj {
		dst := t.TempDir()
		copyTree(t, base.dir, dst)
		return &proj{t: t, bin: base.bin, dir: dst, env: base.env}
	}, url
}

// Eight processes, each in its own directory (as on eight machines, so no
// local lock orders them), promote eight versions to one alias at once.
// Every move is kept: the history holds eight promotions that replay to
// the alias, none lost and none applied twice.
func TestSharedConcurrentPromotions(t *testing.T) {
	const n = 8
	fresh, _ := sharedProject(t, n)
	projs := make([]*proj, n)
	for i := range projs {
		projs[i] = fresh()
	}
	var wg sync.WaitGroup
	outs := make([]string, n)
	codes := make([]int, n)
	start := make(chan struct{})
	for i, p := range projs {
		wg.Go(func() {
			<-start
			var out bytes.Buffer
			cmd := p.command(nil, "models", "promote", "california", fmt.Sprint(i+1), "--alias", "production")
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			outs[i] = out.String()
			if ee, ok := errors.AsType[*exec.ExitError](err); ok {
				codes[i] = ee.ExitCode()
			} else if err != nil {
				codes[i] = -1
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if codes[i] != 0 {
			t.Errorf("promote %d: exit %d\n%s", i+1, codes[i], outs[i])
		}
	}
	v := showModel(fresh())
	var tos []int
	for _, e := range v.History {
		if e.Alias != "production" || e.Action != "promote" {
			t.Errorf("unexpected event %+v", e)
		}
		tos = append(tos, e.To)
	}
	slices.Sort(tos)
	if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(tos, want) {
		t.Errorf("the history promoted %v, want each of %v once", tos, want)
	}
}

// A kill -9 at any moment of a promotion on S3 leaves the registry
// before or after the move, never between; the rerun completes it.
func TestCrashPromoteS3(t *testing.T) {
	fresh, _ := sharedProject(t, 2)
	fresh().must("models", "promote", "california", "1", "--alias", "production")
	c := crashCase{args: []string{"models", "promote", "california", "2", "--alias", "production"}, fresh: fresh, check: func(p *proj, killed bool) {
		before := showModel(p)
		if a := before.Aliases["production"]; a != 1 && a != 2 {
			p.t.Fatalf("production → %d after the kill", a)
		}
		p.must("models", "promote", "california", "2", "--alias", "production")
		if v := showModel(p); v.Aliases["production"] != 2 {
			p.t.Fatalf("production → %d after the rerun, want 2", v.Aliases["production"])
		}
		// Back to version 1 for the next kill.
		p.must("models", "rollback", "california", "--alias", "production")
		if v := showModel(p); v.Aliases["production"] != 1 {
			p.t.Fatalf("production → %d after the rollback, want 1", v.Aliases["production"])
		}
	}}
	n := 6
	if chaosFull() {
		n = 60
	}
	t.Logf("promote on S3: %d kills", c.atRandom(t, n, time.Millisecond, 11))
}

// replica is a `housectl serve` process.
type replica struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
	mu  sync.Mutex
}

func startReplica(t *testing.T, p *proj, env ...string) *replica {
	t.Helper()
	r := &replica{log: &bytes.Buffer{}}
	r.cmd = p.command(nil, "serve", "--addr", "127.0.0.1:0")
	r.cmd.Env = append(slices.Clone(p.env), env...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = pw
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	found := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			k, err := pr.Read(buf)
			r.mu.Lock()
			r.log.Write(buf[:k])
			s := r.log.String()
			r.mu.Unlock()
			if i := strings.Index(s, " on http://"); i >= 0 {
				rest := s[i+len(" on "):]
				if j := strings.IndexAny(rest, " \n"); j > 0 {
					select {
					case found <- rest[:j]:
					default:
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	})
	select {
	case r.url = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", r.logText())
	}
	return r
}

func (r *replica) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

// Two replicas on different ports serve models:/california@production
// from the bucket. Under load on both, a promotion made from a third
// directory reaches each within its poll interval, and not one request
// fails during the swap.
func TestSharedReplicasFollowPromotion(t *testing.T) {
	fresh, _ := sharedProject(t, 2)
	fresh().must("models", "promote", "california", "1", "--alias", "production")
	const interval = time.Second
	env := []string{"HOUSECTL_SERVE_RELOAD_INTERVAL=" + interval.String(), "HOUSECTL_PREDICTIONS_ENABLED=false"}
	replicas := []*replica{startReplica(t, fresh(), env...), startReplica(t, fresh(), env...)}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	body := []byte(`{"MedInc": 8.3252, "HouseAge": 41, "AveRooms": 6.98, "AveBedrms": 1.02, "Population": 322, "AveOccup": 2.55, "Latitude": 37.88, "Longitude": -122.23}`)
	var sent, failed atomic.Int64
	var firstV2 [2]atomic.Int64 // unix nanoseconds of the first answer from version 2
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for i, r := range replicas {
		for range 4 {
			wg.Go(func() {
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/predict", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if ctx.Err() != nil {
						return
					}
					sent.Add(1)
					if err != nil {
						failed.Add(1)
						t.Errorf("replica %d: %v", i, err)
						continue
					}
					var out struct {
						Version string `json:"version"`
					}
					err = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || err != nil {
						failed.Add(1)
						t.Errorf("replica %d: status %d (%v)", i, resp.StatusCode, err)
						continue
					}
					if out.Version == "2" {
						firstV2[i].CompareAndSwap(0, time.Now().UnixNano())
					}
				}
			})
		}
	}
	time.Sleep(2 * interval)
	promoted := time.Now()
	fresh().must("models", "promote", "california", "2", "--alias", "production")
	deadline := time.Now().Add(30 * time.Second)
	for (firstV2[0].Load() == 0 || firstV2[1].Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(interval) // keep the load on past the swap
	cancel()
	wg.Wait()
	for i := range replicas {
		at := firstV2[i].Load()
		if at == 0 {
			t.Fatalf("replica %d never served version 2:\n%s", i, replicas[i].logText())
		}
		// The move is seen at the next poll; the margin covers loading
		// the model and a loaded machine, not a second poll's worth.
		took := time.Unix(0, at).Sub(promoted)
		t.Logf("replica %d served version 2 %v after the promotion", i, took.Round(time.Millisecond))
		if took > interval+time.Second {
			t.Errorf("replica %d took %v to follow the promotion, more than one poll interval (%v)", i, took, interval)
		}
	}
	t.Logf("%d requests, %d failed", sent.Load(), failed.Load())
	if sent.Load() == 0 || failed.Load() != 0 {
		t.Errorf("%d of %d requests failed during the swap", failed.Load(), sent.Load())
	}
}

// The model workflow (.github/workflows/model.yml) as GitHub runs it, its
// steps' scripts in order with bash -eo pipefail, against a bucket of the
// test's S3 server from the "secrets": the first run promotes its version,
// the second, no better, registers and leaves production where it is.
func TestModelWorkflowAgainstBucket(t *testing.T) {
	t.Parallel() // bound by the S3 server: it overlaps the other parallel tests
	b, err := os.ReadFile("../../.github/workflows/model.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Env  map[string]string `yaml:"env"`
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				ID   string `yaml:"id"`
				If   string `yaml:"if"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	srv := s3test.Get(t)
	secrets := map[string]string{
		"HOUSECTL_TRACKING_URI": srv.Bucket(t) + "/ml", "AWS_ACCESS_KEY_ID": srv.AccessKey,
		"AWS_SECRET_ACCESS_KEY": srv.SecretKey, "AWS_REGION": srv.Region, "AWS_ENDPOINT_URL": srv.Endpoint,
	}
	expr := regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)
	eval := func(s string, outputs map[string]string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			e := expr.FindStringSubmatch(m)[1]
			switch {
			case strings.HasPrefix(e, "secrets."):
				return secrets[strings.TrimPrefix(e, "secrets.")]
			case e == "github.run_id":
				return "4242"
			case strings.HasPrefix(e, "inputs.max_regression"):
				return "2%"
			}
			t.Fatalf("model.yml: an expression this test does not know: %s", m)
			return ""
		})
	}
	dir := t.TempDir()
	p := &proj{t: t, bin: housectlBin(t), dir: dir, env: chaosEnv(t)}
	p.must("init")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(p.bin, filepath.Join(dir, "bin", "housectl")); err != nil {
		t.Fatal(err)
	}
	env := append(slices.Clone(p.env), "HOUSECTL_TRAIN_CANDIDATES=linear", "HOUSECTL_TRAIN_CV_FOLDS=0",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"))
	for k, v := range wf.Env {
		env = append(env, k+"="+eval(v, nil))
	}
	job := wf.Jobs["train"]
	if len(job.Steps) == 0 {
		t.Fatal("model.yml has no train job")
	}
	runJob := func() string {
		summary := filepath.Join(dir, "summary.md")
		_ = os.Remove(summary)
		outputs := map[string]string{}
		for _, st := range job.Steps {
			if st.Run == "" || st.Name == "Build" {
				continue
			}
			if cond, ok := strings.CutPrefix(st.If, "steps."); ok {
				id, want, _ := strings.Cut(cond, ".outputs.")
				key, val, _ := strings.Cut(want, " == ")
				if outputs[id+"."+key] != strings.Trim(val, "'") {
					continue
				}
			} else if st.If != "" && st.If != "always()" {
				t.Fatalf("step %q: a condition this test does not know: %s", st.Name, st.If)
			}
			out := filepath.Join(dir, "output")
			_ = os.Remove(out)
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", eval(st.Run, outputs)) //nolint:noctx // bounded by the test
			cmd.Dir = dir
			cmd.Env = append(slices.Clone(env), "GITHUB_STEP_SUMMARY="+summary, "GITHUB_OUTPUT="+out)
			b, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("step %q: %v\n%s", st.Name, err, b)
			}
			if o, err := os.ReadFile(out); err == nil {
				for _, line := range strings.Split(strings.TrimSpace(string(o)), "\n") {
					if k, v, ok := strings.Cut(line, "="); ok {
						outputs[st.ID+"."+k] = v
					}
				}
			}
		}
		s, _ := os.ReadFile(summary)
		return string(s)
	}
	if s := runJob(); !strings.Contains(s, "Promoted california version 1 to production.") {
		t.Errorf("the first run's summary:\n%s", s)
	}
	if s := runJob(); !strings.Contains(s, "Version 2 is registered but not better than production: not promoted.") {
		t.Errorf("the second run's summary:\n%s", s)
	}
	// A server elsewhere sees what CI did, in the bucket.
	other := &proj{t: t, bin: p.bin, dir: t.TempDir(), env: env}
	other.must("init")
	v := showModel(other)
	if len(v.Versions) != 2 || v.Aliases["production"] != 1 {
		t.Errorf("the bucket's registry after two runs: %+v", v)
	}
}
