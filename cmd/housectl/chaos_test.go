package main

// Crash tests: the real housectl binary is killed with SIGKILL in the
// middle of every writing command, again and again, each time on a fresh
// copy of a project, and what it left is checked: every command still
// works, nothing half-written is trusted, and a rerun completes.
//
// Two ways to kill, both through strace(1):
//   - at every system call: strace -e inject=NAME:signal=SIGKILL:when=K
//     kills the process as it enters the K-th call of NAME, for every NAME
//     that touches a file and every K a clean run makes, so each boundary
//     between two of its file operations is a kill point;
//   - at random moments: the file system calls are slowed down (strace
//     delays), and the process group is killed after a random fraction of
//     a run's duration.
//
// make test runs a short version of each case; make chaos
// (HOUSECTL_TEST_CHAOS=full) runs them at full length.

import (
	"bufio"
	"bytes"
	"crypto/md5" //nolint:gosec // DVC's content address
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/bucket"
)

// chaosFull reports whether the crash tests run at full length.
func chaosFull() bool { return os.Getenv("HOUSECTL_TEST_CHAOS") == "full" }

// fileSyscalls are the calls a kill is injected at: every one that
// creates, writes, syncs, renames, links, removes or locks a file.
var fileSyscalls = []string{"openat", "mkdirat", "write", "pwrite64", "fsync", "fdatasync", "fchmod", "fchmodat", "renameat", "renameat2", "linkat", "unlinkat", "flock", "ftruncate", "copy_file_range", "ioctl"}

// proj is a housectl project on disk and the way to run the binary in it.
type proj struct {
	t   *testing.T
	bin string
	dir string
	env []string
}

// housectlBin returns the binary the crash tests kill: $HOUSECTL_TEST_BIN (make
// test and make chaos build bin/housectl and name it there: a race-detector
// build starts too slowly to be killed hundreds of times), else this test
// binary run as housectl (testscript.Main, in TestMain, dispatches on the
// program's name).
func housectlBin(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("HOUSECTL_TEST_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("HOUSECTL_TEST_BIN: %v", err)
		}
		return bin
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "housectl")
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func (p *proj) command(prefix []string, args ...string) *exec.Cmd {
	argv := append(append(slices.Clone(prefix), p.bin), args...)
	cmd := exec.Command(argv[0], argv[1:]...) //nolint:noctx // killed by the test itself
	cmd.Dir = p.dir
	cmd.Env = p.env
	return cmd
}

// run runs housectl and returns its output and exit code.
func (p *proj) run(args ...string) (string, string, int) {
	p.t.Helper()
	var out, errOut bytes.Buffer
	cmd := p.command(nil, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		code = ee.ExitCode()
	} else if err != nil {
		p.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// must runs housectl and fails the test unless it exits 0.
func (p *proj) must(args ...string) string {
	p.t.Helper()
	out, errOut, code := p.run(args...)
	if code != 0 {
		p.t.Fatalf("housectl %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// chaosEnv is the environment of every housectl the crash tests run.
func chaosEnv(t *testing.T) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "USER=chaos",
		"HOUSECTL_DATA_URL=file://" + testenv.CalHousingArchive(t),
		"NO_COLOR=1", "GORACE=halt_on_error=1",
	}
}

// copyTree copies a directory, keeping modes and symbolic links.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			return os.MkdirAll(to, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, to)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

// crashCase is one command killed on fresh copies of a project.
type crashCase struct {
	args []string
	// fresh returns a new copy of the project the command runs in.
	fresh func() *proj
	// check runs after each kill (killed: the process died by the signal
	// rather than finishing first).
	check func(p *proj, killed bool)
}

// atEverySyscall kills the command at each file system call a clean run
// makes (every call when full, else every call of the few that commit:
// rename, link, unlink, fsync and write). It returns the number of kills.
func (c crashCase) atEverySyscall(t *testing.T, full bool) int {
	t.Helper()
	strace := testenv.Strace(t)
	log := filepath.Join(t.TempDir(), "trace")
	p := c.fresh()
	var errOut bytes.Buffer
	cmd := p.command([]string{strace, "-f", "-qq", "-o", log, "-e", "trace=" + strings.Join(fileSyscalls, ",")}, c.args...)
	cmd.Stderr = &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("the clean run under strace: %v\n%s", err, errOut.String())
	}
	counts := syscallCounts(t, log)
	names := slices.Sorted(maps.Keys(counts))
	if !full {
		names = slices.DeleteFunc(names, func(n string) bool {
			return !slices.Contains([]string{"renameat", "renameat2", "linkat", "unlinkat", "fsync", "fdatasync"}, n)
		})
	}
	kills := 0
	for _, name := range names {
		for k := 1; k <= counts[name]; k++ {
			q := c.fresh()
			cmd := q.command([]string{strace, "-f", "-qq", "-o", os.DevNull, "-e", fmt.Sprintf("inject=%s:signal=SIGKILL:when=%d", name, k)}, c.args...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			killed := killedBySignal(cmd.Run())
			if killed {
				kills++
			}
			t.Run(fmt.Sprintf("%s#%d", name, k), func(t *testing.T) {
				q.t = t
				c.check(q, killed)
			})
		}
	}
	return kills
}

// syscallCounts reads an strace -f log: for each call, the most times one
// thread made it (strace counts injections per thread).
func syscallCounts(t *testing.T, log string) map[string]int {
	t.Helper()
	f, err := os.Open(log)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^(\d+)\s+([a-z0-9_]+)\(`)
	per := map[string]int{}
	counts := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		key := m[1] + " " + m[2]
		per[key]++
		counts[m[2]] = max(counts[m[2]], per[key])
	}
	return counts
}

func killedBySignal(err error) bool {
	ee, ok := errors.AsType[*exec.ExitError](err)
	if !ok {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && (ws.Signaled() || ws.ExitStatus() == 128+int(syscall.SIGKILL))
}

// atRandom kills the command n times at random moments of its run, with
// its file system calls slowed down by delay so that the kills land in
// its writes as often as in its start-up. It returns the kills that hit
// the process before it finished.
func (c crashCase) atRandom(t *testing.T, n int, delay time.Duration, seed uint64) int {
	t.Helper()
	strace := testenv.Strace(t)
	slow := []string{strace, "-f", "-qq", "-o", os.DevNull, "-e", fmt.Sprintf("inject=write,fsync,fdatasync,renameat,linkat,unlinkat,mkdirat:delay_enter=%d", delay.Microseconds())}
	p := c.fresh()
	start := time.Now()
	if out, err := p.command(slow, c.args...).CombinedOutput(); err != nil {
		t.Fatalf("the clean run: %v\n%s", err, out)
	}
	span := time.Since(start)
	rng := rand.New(rand.NewPCG(seed, 17))
	kills := 0
	for i := range n {
		q := c.fresh()
		cmd := q.command(slow, c.args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		at := time.Duration(rng.Float64() * float64(span))
		timer := time.AfterFunc(at, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err := cmd.Wait()
		timer.Stop()
		killed := killedBySignal(err)
		if killed {
			kills++
		}
		t.Run(fmt.Sprintf("kill%03d@%v", i, at.Round(time.Millisecond)), func(t *testing.T) {
			q.t = t
			c.check(q, killed)
		})
	}
	return kills
}

// regView is what `models show --json` says of a model.
type regView struct {
	Versions []struct {
		Version int `json:"version"`
	} `json:"versions"`
	Aliases map[string]int `json:"aliases"`
	History []struct {
		Action string `json:"action"`
		Alias  string `json:"alias"`
		From   int    `json:"from"`
		To     int    `json:"to"`
	} `json:"history"`
}

func (v regView) key() string {
	return fmt.Sprintf("%d versions, aliases %v, %d moves", len(v.Versions), v.Aliases, len(v.History))
}

func showModel(p *proj) regView {
	p.t.Helper()
	var v regView
	if err := json.Unmarshal([]byte(p.must("models", "show", "california", "--json")), &v); err != nil {
		p.t.Fatal(err)
	}
	// The history replays to the aliases, each naming a version.
	replay := map[string]int{}
	for _, e := range v.History {
		if replay[e.Alias] != e.From {
			p.t.Fatalf("history does not replay: %+v", v.History)
		}
		replay[e.Alias] = e.To
	}
	if !maps.Equal(replay, v.Aliases) {
		p.t.Fatalf("aliases %v, history replays to %v", v.Aliases, replay)
	}
	for a, n := range v.Aliases {
		if !slices.ContainsFunc(v.Versions, func(x struct {
			Version int `json:"version"`
		}) bool {
			return x.Version == n
		}) {
			p.t.Fatalf("alias %s → version %d, which does not exist", a, n)
		}
	}
	return v
}

// noLeftovers fails if a directory holds a temporary file.
func noLeftovers(t *testing.T, dir string) {
	t.Helper()
	var left []string
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(e.Name(), ".tmp") {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("temporary files left after a locked command: %v", left)
	}
}

// trainedProject fetches the data, trains two linear models and registers
// them, version 1 in production; fresh copies share nothing.
func trainedProject(t *testing.T) func() *proj {
	t.Helper()
	base := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: chaosEnv(t)}
	base.must("init")
	setConfig(t, base.dir, "cv_folds: 5", "cv_folds: 0")
	base.must("data", "fetch")
	base.must("train", "--model", "linear", "--register", "california")
	base.must("train", "--model", "linear", "--register", "california")
	base.must("models", "promote", "california", "1", "--alias", "production")
	if err := os.WriteFile(filepath.Join(base.dir, "rows.csv"), []byte("MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude\n8.3252,41,6.98,1.02,322,2.55,37.88,-122.23\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() *proj {
		dst := t.TempDir()
		for _, d := range []string{"configs", "experiments", "rows.csv", "data/california.csv", "data/california.csv.dvc"} {
			if fi, _ := os.Stat(filepath.Join(base.dir, d)); fi != nil && !fi.IsDir() {
				b, _ := os.ReadFile(filepath.Join(base.dir, d))
				_ = os.MkdirAll(filepath.Dir(filepath.Join(dst, d)), 0o755)
				_ = os.WriteFile(filepath.Join(dst, d), b, 0o644)
				continue
			}
			copyTree(t, filepath.Join(base.dir, d), filepath.Join(dst, d))
		}
		return &proj{t: t, bin: base.bin, dir: dst, env: base.env}
	}
}

// setConfig replaces a line of the project's configs/housectl.yaml.
func setConfig(t *testing.T, dir, old, new string) {
	t.Helper()
	p := filepath.Join(dir, "configs", "housectl.yaml")
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s has no %q (%v)", p, old, err)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// registryCase is a registry command killed and checked: afterwards the
// model is in the state before the command or after it, the history
// replays to the aliases, the production model predicts, and a promotion
// and a rollback work and leave no temporary file behind.
func registryCase(t *testing.T, fresh func() *proj, args ...string) crashCase {
	before := showModel(fresh()).key()
	q := fresh()
	q.must(args...)
	after := showModel(q).key()
	return crashCase{args: args, fresh: fresh, check: func(p *proj, killed bool) {
		got := showModel(p).key()
		if got != before && got != after {
			p.t.Fatalf("the registry is %s; want %s (before) or %s (after)", got, before, after)
		}
		p.must("predict", "--run", "models:/california@production", "--input", "rows.csv")
		p.must("models", "promote", "california", "2", "--alias", "canary")
		p.must("models", "promote", "california", "1", "--alias", "canary")
		p.must("models", "rollback", "california", "--alias", "canary")
		showModel(p)
		noLeftovers(p.t, filepath.Join(p.dir, "experiments", "models"))
		if _, err := os.Stat(filepath.Join(p.dir, "experiments", "models", "california", "history.jsonl")); err == nil {
			p.t.Error("history.jsonl of format 1 is left")
		}
	}}
}

// A kill at any moment of models promote, rollback or register leaves a
// registry that every command works on.
func TestCrashRegistry(t *testing.T) {
	fresh := trainedProject(t)
	full := chaosFull()
	cases := []struct {
		name string
		args []string
	}{
		{"promote", []string{"models", "promote", "california", "2", "--alias", "production"}},
		{"rollback", nil},
		{"register", []string{"models", "register", "linear", "--name", "california"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := fresh
			args := tc.args
			if tc.name == "rollback" {
				// Production moved once, so that there is a move to undo.
				moved := fresh()
				moved.must("models", "promote", "california", "2", "--alias", "production")
				f = func() *proj {
					q := fresh()
					_ = os.RemoveAll(filepath.Join(q.dir, "experiments"))
					copyTree(t, filepath.Join(moved.dir, "experiments"), filepath.Join(q.dir, "experiments"))
					return q
				}
				args = []string{"models", "rollback", "california", "--alias", "production"}
			}
			c := registryCase(t, f, args...)
			kills := c.atEverySyscall(t, full || tc.name == "promote")
			n := 20
			if full {
				n = 200
			}
			kills += c.atRandom(t, n, 2*time.Millisecond, uint64(len(tc.name)))
			t.Logf("%s: %d kills, every one recovered", tc.name, kills)
			if kills == 0 {
				t.Error("no kill hit the command")
			}
		})
	}
}

// cacheObjectsMatch fails if an object of a DVC cache (or remote) does
// not hash to its name.
func cacheObjectsMatch(t *testing.T, root string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(root, "files", "md5"), func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b) //nolint:gosec
		name := filepath.Base(filepath.Dir(p)) + strings.TrimSuffix(e.Name(), ".dir")
		if hex.EncodeToString(sum[:]) != name {
			t.Errorf("%s holds content with md5 %x", p, sum)
		}
		n++
		return nil
	})
	return n
}

// dataProject is a project with a directory of files to add.
func dataProject(t *testing.T) func() *proj {
	t.Helper()
	base := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: chaosEnv(t)}
	base.must("init")
	dir := filepath.Join(base.dir, "data", "photos")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 60 {
		b := make([]byte, 2048+rng.IntN(4096))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%03d.bin", i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("housectl chaos "), 1<<16)
	if err := os.WriteFile(filepath.Join(base.dir, "data", "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() *proj {
		dst := t.TempDir()
		copyTree(t, base.dir, dst)
		return &proj{t: t, bin: base.bin, dir: dst, env: base.env}
	}
}

// A kill during data add leaves a cache whose every object matches its
// name; the rerun adds everything, removes the temporary files of the
// killed run, and leaves the data up to date.
func TestCrashDataAdd(t *testing.T) {
	fresh := dataProject(t)
	c := crashCase{args: []string{"data", "add", "data/photos", "data/big.bin"}, fresh: fresh, check: func(p *proj, killed bool) {
		cacheObjectsMatch(p.t, filepath.Join(p.dir, ".dvc", "cache"))
		p.must("data", "add", "data/photos", "data/big.bin")
		if out := p.must("data", "status"); !strings.Contains(out, "up to date") {
			p.t.Errorf("data status after the rerun:\n%s", out)
		}
		if n := cacheObjectsMatch(p.t, filepath.Join(p.dir, ".dvc", "cache")); n != 62 {
			p.t.Errorf("%d cache objects, want 62", n)
		}
		noLeftovers(p.t, filepath.Join(p.dir, ".dvc", "cache"))
	}}
	full := chaosFull()
	n := 10
	if full {
		n = 100
	}
	kills := c.atRandom(t, n, time.Millisecond, 3)
	if full {
		kills += c.atEverySyscall(t, false)
	}
	t.Logf("data add: %d kills", kills)
}

// A kill during data push leaves no object in the remote that does not
// match its name, and the rerun completes the remote.
func TestCrashDataPush(t *testing.T) {
	fresh := dataProject(t)
	base := fresh()
	base.must("data", "add", "data/photos", "data/big.bin")
	crashPush(t, fresh, base, 62, 10, 4, func(q *proj) func(*testing.T) int {
		store := filepath.Join(q.dir, "..", filepath.Base(q.dir)+"-store")
		q.must("data", "remote", "add", "-d", "store", store)
		return func(t *testing.T) int { return cacheObjectsMatch(t, store) }
	})
}

// crashPush kills `data push` at kills random moments (ten times as many
// with HOUSECTL_TEST_CHAOS=full), each time on a fresh
// copy of base with a remote that remote adds (it returns the check of
// that remote's objects, which returns their number), and checks that
// the remote holds nothing that does not match its name, and that a
// rerun completes it to want objects.
func crashPush(t *testing.T, fresh func() *proj, base *proj, want, kills int, seed uint64, remote func(q *proj) func(*testing.T) int) {
	t.Helper()
	checks := map[string]func(*testing.T) int{}
	c := crashCase{args: []string{"data", "push"}, fresh: func() *proj {
		q := fresh()
		_ = os.RemoveAll(q.dir)
		copyTree(t, base.dir, q.dir)
		q.env = base.env
		checks[q.dir] = remote(q)
		return q
	}, check: func(p *proj, killed bool) {
		objectsMatch := checks[p.dir]
		objectsMatch(p.t)
		p.must("data", "push")
		if n := objectsMatch(p.t); n != want {
			p.t.Errorf("%d objects in the remote, want %d", n, want)
		}
		if out := p.must("data", "push"); !strings.Contains(out, "Everything is up to date") {
			p.t.Errorf("a second push: %s", out)
		}
	}}
	if chaosFull() {
		kills *= 10
	}
	t.Logf("%s: %d kills", t.Name(), c.atRandom(t, kills, time.Millisecond, seed))
}

// A kill during train leaves runs that load (a killed one RUNNING until
// runs gc marks it FAILED) and a consistent registry; the rerun trains and
// registers.
func TestCrashTrain(t *testing.T) {
	args := []string{"train", "--model", "linear", "--register", "california"}
	c := crashCase{args: args, fresh: trainedProject(t), check: func(p *proj, killed bool) {
		p.must("runs", "list", "--json")
		p.must("runs", "gc")
		if out := p.must("runs", "list", "--json"); strings.Contains(out, `"RUNNING"`) {
			p.t.Errorf("a RUNNING run is left after runs gc:\n%s", out)
		}
		showModel(p)
		p.must(args...)
		showModel(p)
	}}
	n := 6
	if chaosFull() {
		n = 60
	}
	t.Logf("train: %d kills", c.atRandom(t, n, time.Millisecond, 5))
}

// A kill during pipeline run leaves a project whose rerun completes, with
// a consistent registry.
func TestCrashPipeline(t *testing.T) {
	base := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: chaosEnv(t)}
	base.must("init")
	setConfig(t, base.dir, "cv_folds: 5", "cv_folds: 0")
	setConfig(t, base.dir, "candidates: [linear, random_forest, gradient_boosting]", "candidates: [linear]")
	fresh := func() *proj {
		dst := t.TempDir()
		copyTree(t, base.dir, dst)
		return &proj{t: t, bin: base.bin, dir: dst, env: base.env}
	}
	c := crashCase{args: []string{"pipeline", "run"}, fresh: fresh, check: func(p *proj, killed bool) {
		p.must("pipeline", "run")
		v := showModel(p)
		if v.Aliases["production"] == 0 {
			p.t.Errorf("no production model after the rerun: %s", v.key())
		}
		noLeftovers(p.t, filepath.Join(p.dir, "experiments", "models"))
	}}
	n := 6
	if chaosFull() {
		n = 60
	}
	t.Logf("pipeline: %d kills", c.atRandom(t, n, time.Millisecond, 6))
}

// A kill during a push to S3 leaves no object under its final key that
// does not match its name (an upload is whole or absent; a large one's
// parts are never an object), and the rerun completes the remote. The
// big file here is past the multipart threshold, so kills land in parts
// too.
func TestCrashDataPushS3(t *testing.T) {
	t.Parallel() // bound by the S3 server: it overlaps the other parallel tests
	srv := s3test.Get(t)
	fresh := dataProject(t)
	base := fresh()
	base.env = append(slices.Clone(base.env), srv.Env()...)
	big := bytes.Repeat([]byte("multipart "), (bucket.MultipartThreshold+(4<<20))/10)
	if err := os.WriteFile(filepath.Join(base.dir, "data", "huge.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	base.must("data", "add", "data/photos", "data/big.bin", "data/huge.bin")
	crashPush(t, fresh, base, 63, 6, 5, func(q *proj) func(*testing.T) int {
		url := srv.Bucket(t) + "/store"
		q.must("data", "remote", "add", "-d", "store", url)
		return func(t *testing.T) int {
			b, err := bucket.Open(t.Context(), url, bucket.Options{EndpointURL: srv.Endpoint, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey})
			if err != nil {
				t.Fatal(err)
			}
			return s3ObjectsMatch(t, b)
		}
	})
}

// s3ObjectsMatch downloads every object of a DVC remote on S3 and fails
// the test for any whose content is not its name; it returns their number.
func s3ObjectsMatch(t *testing.T, b *bucket.Bucket) int {
	t.Helper()
	n := 0
	dir := t.TempDir()
	for o, err := range b.List(t.Context(), "") {
		if err != nil {
			t.Fatal(err)
		}
		name, ok := strings.CutPrefix(o.Name, "files/md5/")
		if !ok || len(name) < 33 {
			t.Errorf("an object outside DVC's layout: %s", o.Name)
			continue
		}
		want := strings.TrimSuffix(strings.Replace(name, "/", "", 1), ".dir")
		if err := b.GetFile(t.Context(), o.Name, filepath.Join(dir, strconv.Itoa(n)), want, 4); err != nil {
			t.Errorf("%s: %v", o.Name, err)
		}
		n++
	}
	return n
}

// A 1 GiB file goes to a real S3 server in parallel parts and comes back
// whole into an empty cache, checked against its md5 on the way.
func TestS3LargeFile(t *testing.T) {
	t.Parallel() // bound by the S3 server and the disk: it overlaps the other parallel tests
	if testing.Short() {
		t.Skip("1 GiB through a real S3 server")
	}
	srv := s3test.Get(t)
	p := &proj{t: t, bin: housectlBin(t), dir: t.TempDir(), env: append(chaosEnv(t), srv.Env()...)}
	p.must("init")
	if err := os.MkdirAll(filepath.Join(p.dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(p.dir, "data", "gib.bin"))
	if err != nil {
		t.Fatal(err)
	}
	block := make([]byte, 1<<20)
	for i := range 1024 {
		for j := 0; j < len(block); j += 8 {
			binary.LittleEndian.PutUint64(block[j:], uint64(i)<<32|uint64(j))
		}
		if _, err := f.Write(block); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p.must("data", "add", "data/gib.bin")
	p.must("data", "remote", "add", "-d", "store", srv.Bucket(t)+"/big")
	out := p.must("data", "push", "--json")
	if !strings.Contains(out, `"transferred": 1`) {
		t.Fatalf("push: %s", out)
	}
	if err := os.RemoveAll(filepath.Join(p.dir, ".dvc", "cache")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(p.dir, "data", "gib.bin")); err != nil {
		t.Fatal(err)
	}
	if out := p.must("data", "pull"); !strings.Contains(out, "1 file fetched and 1 file added") {
		t.Fatalf("pull: %s", out)
	}
	if out := p.must("data", "status"); !strings.Contains(out, "up to date") {
		t.Fatalf("status after the pull: %s", out)
	}
}
