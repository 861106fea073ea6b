package dvc

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/s3test"
)

const (
	housingCSV = "MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal\n8.3252,41.0,6.984127,1.02381,322.0,2.555556,37.88,-122.23,4.526\n"
	readmeMD   = "California housing sample\n"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func golden(t *testing.T, name string) string {
	return read(t, filepath.Join("..", "..", "testdata", "dvc", name))
}

// newRepo makes a repository with formats.md's worked example in data/raw.
func newRepo(t *testing.T) *Repo {
	t.Helper()
	root := t.TempDir()
	if _, err := Init(root); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, "data/raw/housing.csv"), housingCSV)
	write(t, filepath.Join(root, "data/raw/docs/README.md"), readmeMD)
	r, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *Repo) abs(rel string) string { return filepath.Join(r.Root, filepath.FromSlash(rel)) }

func TestInitWritesDVCsFiles(t *testing.T) {
	r := newRepo(t)
	if got := read(t, r.abs(".dvc/.gitignore")); got != "/config.local\n/tmp\n/cache\n" {
		t.Errorf(".dvc/.gitignore = %q", got)
	}
	if got := read(t, r.abs(".dvcignore")); !strings.HasPrefix(got, "# Add patterns of files dvc should ignore") {
		t.Errorf(".dvcignore = %q", got)
	}
	created, err := Init(r.Root)
	if err != nil || len(created) != 0 {
		t.Errorf("a second Init wrote %v, %v", created, err)
	}
	if _, err := Find(r.abs("data/raw/docs")); err != nil {
		t.Errorf("Find from a subdirectory: %v", err)
	}
	if _, err := Find(t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Errorf("Find outside a repo: %v", err)
	}
}

func TestAddDirectoryMatchesDVC(t *testing.T) {
	r := newRepo(t)
	res, err := r.Add(t.Context(), []string{r.abs("data/raw")}, AddOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].MD5 != "512e35699dec07417e3609f831fd9f61.dir" || res[0].Size != 176 || res[0].NFiles != 2 || !res[0].Changed || res[0].Gitignore != "data/.gitignore" {
		t.Errorf("result %+v", res[0])
	}
	if got := read(t, r.abs("data/raw.dvc")); got != golden(t, "raw.dvc.golden") {
		t.Errorf("data/raw.dvc:\n%s", got)
	}
	if got := read(t, r.abs("data/.gitignore")); got != "/raw\n" {
		t.Errorf("data/.gitignore = %q", got)
	}
	for id, want := range map[string]string{
		".dvc/cache/files/md5/51/2e35699dec07417e3609f831fd9f61.dir": golden(t, "512e35699dec07417e3609f831fd9f61.dir.golden"),
		".dvc/cache/files/md5/63/7797d07f8469c2b104fa0add77ff8b":     housingCSV,
		".dvc/cache/files/md5/c7/6b438f3306f1bce48688dd131a3985":     readmeMD,
	} {
		if got := read(t, r.abs(id)); got != want {
			t.Errorf("%s = %q", id, got)
		}
		fi, _ := os.Stat(r.abs(id))
		if fi.Mode().Perm() != 0o444 {
			t.Errorf("%s mode %v, want read-only", id, fi.Mode())
		}
	}
	// Re-adding unchanged data changes nothing and adds no second gitignore line.
	res, err = r.Add(t.Context(), []string{r.abs("data/raw")}, AddOptions{})
	if err != nil || res[0].Changed || res[0].Gitignore != "" {
		t.Errorf("re-add: %+v %v", res, err)
	}
	if got := read(t, r.abs("data/.gitignore")); got != "/raw\n" {
		t.Errorf("data/.gitignore after re-add = %q", got)
	}
}

func TestAddFileMatchesDVCAndKeepsUserKeys(t *testing.T) {
	r := newRepo(t)
	if _, err := r.Add(t.Context(), []string{r.abs("data/raw/housing.csv")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, r.abs("data/raw/housing.csv.dvc")); got != golden(t, "housing.csv.dvc.golden") {
		t.Errorf("housing.csv.dvc:\n%s", got)
	}
	if got := read(t, r.abs("data/raw/.gitignore")); got != "/housing.csv\n" {
		t.Errorf(".gitignore = %q", got)
	}
	// A user annotates the file; a re-add after a change keeps it.
	dvcFile := r.abs("data/raw/housing.csv.dvc")
	write(t, dvcFile, "# census sample\n"+read(t, dvcFile)+"  desc: one row\nmeta:\n  owner: ana\n")
	write(t, r.abs("data/raw/housing.csv"), housingCSV+"1,2,3,4,5,6,7,8,9\n")
	res, err := r.Add(t.Context(), []string{r.abs("data/raw/housing.csv")}, AddOptions{})
	if err != nil || !res[0].Changed {
		t.Fatalf("%+v %v", res, err)
	}
	got := read(t, dvcFile)
	want := "# census sample\nouts:\n- md5: " + string(res[0].MD5) + "\n  size: 168\n  hash: md5\n  path: housing.csv\n  desc: one row\nmeta:\n  owner: ana\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestAddRefusals(t *testing.T) {
	r := newRepo(t)
	write(t, r.abs(".dvcignore"), "# ignore scratch\n*.tmp\n")
	write(t, r.abs("data/x.tmp"), "x")
	r, _ = Open(r.Root)
	for _, tt := range []struct{ path, want string }{
		{"data/x.tmp", "is ignored by .dvcignore:2:*.tmp"},
		{"data/none", "no such file"},
		{".dvc/config", "DVC always ignores"},
	} {
		if _, err := r.Add(t.Context(), []string{r.abs(tt.path)}, AddOptions{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("add %s: %v, want %q", tt.path, err, tt.want)
		}
	}
	if _, err := r.Add(t.Context(), []string{t.TempDir()}, AddOptions{}); err == nil || !strings.Contains(err.Error(), "outside the repository") {
		t.Errorf("outside: %v", err)
	}
	write(t, r.abs("data/raw/.dvcignore"), "x\n")
	if _, err := r.Add(t.Context(), []string{r.abs("data/raw")}, AddOptions{}); err == nil || !strings.Contains(err.Error(), ".dvcignore file should not be in collected dir path") {
		t.Errorf("nested .dvcignore: %v", err)
	}
}

func TestDvcignoreExcludesFromDirHash(t *testing.T) {
	r := newRepo(t)
	write(t, r.abs("data/raw/notes.log"), "scratch\n")
	write(t, r.abs(".dvcignore"), "*.log\n")
	r, _ = Open(r.Root)
	res, err := r.Add(t.Context(), []string{r.abs("data/raw")}, AddOptions{})
	if err != nil || res[0].MD5 != "512e35699dec07417e3609f831fd9f61.dir" || res[0].NFiles != 2 {
		t.Errorf("ignored file changed the hash: %+v %v", res, err)
	}
}

func TestStatusAndCheckout(t *testing.T) {
	r := newRepo(t)
	ctx := t.Context()
	if st, err := r.Status(ctx, nil, 0); err != nil || len(st) != 0 {
		t.Fatalf("nothing tracked: %v %v", st, err)
	}
	if _, err := r.Add(ctx, []string{r.abs("data/raw"), r.abs("data/raw/../other.csv")}, AddOptions{}); err == nil {
		t.Fatal("adding a missing file succeeded")
	}
	write(t, r.abs("data/model.bin"), "weights")
	if _, err := r.Add(ctx, []string{r.abs("data/raw"), r.abs("data/model.bin")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := r.Status(ctx, nil, 0); len(st) != 0 {
		t.Fatalf("clean repo reports %v", st)
	}

	// Modify a file in the dir, delete the other output.
	write(t, r.abs("data/raw/docs/README.md"), "changed\n")
	if err := os.Remove(r.abs("data/model.bin")); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(ctx, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []OutStatus{{"data/model.bin.dvc", "data/model.bin", StatusDeleted}, {"data/raw.dvc", "data/raw", StatusModified}}
	if len(st) != 2 || st[0] != want[0] || st[1] != want[1] {
		t.Errorf("status = %+v", st)
	}

	// The changed README is not cached: checkout refuses to destroy it...
	changes, err := r.Checkout(ctx, nil, CheckoutOptions{})
	if !errors.Is(err, ErrUncommitted) || len(changes) != 1 || changes[0] != (Change{Kind: "A", Path: "data/model.bin", Added: 1}) {
		t.Errorf("checkout without force: %v %v", changes, err)
	}
	if read(t, r.abs("data/raw/docs/README.md")) != "changed\n" {
		t.Error("uncommitted change was overwritten")
	}
	// ...unless forced. An extra file in the directory goes too.
	write(t, r.abs("data/raw/extra.txt"), "x")
	changes, err = r.Checkout(ctx, nil, CheckoutOptions{Force: true})
	if err != nil || len(changes) != 1 || changes[0] != (Change{Kind: "M", Path: "data/raw", Dir: true, Modified: 1, Deleted: 1}) {
		t.Errorf("forced checkout: %v %v", changes, err)
	}
	if read(t, r.abs("data/raw/docs/README.md")) != readmeMD || read(t, r.abs("data/model.bin")) != "weights" {
		t.Error("workspace not restored")
	}
	if _, err := os.Stat(r.abs("data/raw/extra.txt")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a file not in the manifest survived checkout")
	}
	if st, _ := r.Status(ctx, nil, 0); len(st) != 0 {
		t.Errorf("after checkout: %v", st)
	}

	// A missing cache object: status says so.
	obj := r.Cache.Path("c76b438f3306f1bce48688dd131a3985")
	if err := os.Remove(obj); err != nil {
		t.Fatal(err)
	}
	st, _ = r.Status(ctx, []string{r.abs("data/raw")}, 0)
	if len(st) != 1 || st[0].Status != StatusNotInCache {
		t.Errorf("not in cache: %v", st)
	}
}

func TestCheckoutRefusesCorruptObject(t *testing.T) {
	r := newRepo(t)
	ctx := t.Context()
	if _, err := r.Add(ctx, []string{r.abs("data/raw/housing.csv")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	obj := r.Cache.Path("637797d07f8469c2b104fa0add77ff8b")
	_ = os.Chmod(obj, 0o644)
	write(t, obj, "tampered")
	_ = os.Remove(r.abs("data/raw/housing.csv"))
	changes, err := r.Checkout(ctx, nil, CheckoutOptions{})
	var ce *CorruptError
	if !errors.As(err, &ce) || len(changes) != 0 {
		t.Fatalf("checkout of a corrupt object: %v %v", changes, err)
	}
	if _, err := os.Stat(r.abs("data/raw/housing.csv")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("corrupt content was checked out")
	}
	if ents, _ := os.ReadDir(r.abs("data/raw")); len(ents) != 3 { // docs, .gitignore, housing.csv.dvc
		t.Errorf("leftovers in data/raw: %v", ents)
	}
}

func TestLegacyDVC2Output(t *testing.T) {
	r := newRepo(t)
	crlf := "a,b\r\n1,2\r\n"
	write(t, r.abs("data/old.csv"), crlf)
	write(t, r.abs("data/old.csv.dvc"), "outs:\n- md5: e5ebd4c02cefbe7955977c67ada242b7\n  size: 10\n  path: old.csv\n")
	write(t, r.abs(".dvc/cache/e5/ebd4c02cefbe7955977c67ada242b7"), crlf)
	st, err := r.Status(t.Context(), nil, 0)
	if err != nil || len(st) != 0 {
		t.Errorf("a matching legacy output is clean: %v %v", st, err)
	}
	write(t, r.abs("data/old.csv"), "a,b\n1,3\n")
	st, _ = r.Status(t.Context(), nil, 0)
	if len(st) != 1 || st[0].Status != StatusModified {
		t.Errorf("modified legacy output: %v", st)
	}
	_ = os.Remove(r.abs("data/old.csv"))
	if _, err := r.Checkout(t.Context(), nil, CheckoutOptions{}); err != nil {
		t.Fatal(err)
	}
	if read(t, r.abs("data/old.csv")) != crlf {
		t.Error("legacy checkout did not restore the raw bytes")
	}
	// Re-adding writes a DVC 3 file with the raw md5.
	res, err := r.Add(t.Context(), []string{r.abs("data/old.csv")}, AddOptions{})
	if err != nil || res[0].MD5 != "b202f333fba4fd38d4b8e5e693077aab" || !res[0].Changed {
		t.Errorf("re-add: %+v %v", res, err)
	}
}

func TestPushPull(t *testing.T) {
	r := newRepo(t)
	ctx := t.Context()
	store := t.TempDir()
	if _, err := r.Remote(""); !errors.Is(err, ErrNoRemote) {
		t.Errorf("no remote: %v", err)
	}
	if err := r.AddRemote(LevelRepo, "storage", store, true, false); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote(LevelRepo, "storage", store, true, false); err == nil {
		t.Error("adding a remote twice succeeded")
	}
	if got := read(t, r.abs(".dvc/config")); got != "[core]\n    remote = storage\n['remote \"storage\"']\n    url = "+store+"\n" &&
		got != "['remote \"storage\"']\n    url = "+store+"\n[core]\n    remote = storage\n" {
		t.Errorf(".dvc/config = %q", got)
	}
	if _, err := r.Add(ctx, []string{r.abs("data/raw")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	rem, err := r.Remote("")
	if err != nil {
		t.Fatal(err)
	}
	var counted int
	res, err := r.Push(ctx, rem, nil, TransferOptions{Progress: func(n int) Counter { counted = n; return nopCounter{} }})
	if err != nil || res.Transferred != 3 || counted != 3 {
		t.Fatalf("push: %+v %v (progress total %d)", res, err, counted)
	}
	if got := read(t, filepath.Join(store, "files/md5/51/2e35699dec07417e3609f831fd9f61.dir")); got != golden(t, "512e35699dec07417e3609f831fd9f61.dir.golden") {
		t.Error("remote manifest differs")
	}
	res, _ = r.Push(ctx, rem, nil, TransferOptions{})
	if res.Transferred != 0 || res.UpToDate != 3 {
		t.Errorf("second push: %+v", res)
	}

	// A fresh clone: the .dvc files and config, no cache, no data.
	clone := t.TempDir()
	for _, f := range []string{".dvc/config", "data/raw.dvc"} {
		write(t, filepath.Join(clone, f), read(t, r.abs(f)))
	}
	c, err := Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	crem, _ := c.Remote("storage")
	res, err = c.Pull(ctx, crem, nil, TransferOptions{}, CheckoutOptions{})
	if err != nil || res.Transferred != 3 || len(res.Changes) != 1 || res.Changes[0] != (Change{Kind: "A", Path: "data/raw", Dir: true, Added: 2}) {
		t.Fatalf("pull: %+v %v", res, err)
	}
	if read(t, filepath.Join(clone, "data/raw/housing.csv")) != housingCSV {
		t.Error("pulled data differs")
	}
	res, _ = c.Pull(ctx, crem, nil, TransferOptions{}, CheckoutOptions{})
	if res.Transferred != 0 || len(res.Changes) != 0 {
		t.Errorf("second pull: %+v", res)
	}

	// A corrupt object on the remote is refused.
	bad := filepath.Join(store, "files/md5/63/7797d07f8469c2b104fa0add77ff8b")
	_ = os.Chmod(bad, 0o644)
	write(t, bad, "tampered")
	_ = os.Chmod(c.Cache.Path("637797d07f8469c2b104fa0add77ff8b"), 0o644)
	_ = os.Remove(c.Cache.Path("637797d07f8469c2b104fa0add77ff8b"))
	if _, err := c.Pull(ctx, crem, nil, TransferOptions{}, CheckoutOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("pull of a corrupt remote object: %v", err)
	}
	if c.Cache.Has("637797d07f8469c2b104fa0add77ff8b", false) {
		t.Error("a corrupt object entered the cache")
	}
}

func TestConcurrentAddsBothSucceed(t *testing.T) {
	r := newRepo(t)
	for i := range 50 {
		write(t, r.abs("data/a/f"+string(rune('a'+i%26))+string(rune('a'+i/26))), strings.Repeat("a", i*100))
		write(t, r.abs("data/b/g"+string(rune('a'+i%26))+string(rune('a'+i/26))), strings.Repeat("b", i*100+1))
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, p := range []string{"data/a", "data/b"} {
		wg.Go(func() {
			// A separate Repo per goroutine: as two processes, each its own lock handle.
			rr, err := Open(r.Root)
			if err == nil {
				_, err = rr.Add(context.Background(), []string{rr.abs(p)}, AddOptions{LockWait: 30 * 1e9})
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	checkCache(t, r)
	if got := read(t, r.abs("data/.gitignore")); got != "/a\n/b\n" && got != "/b\n/a\n" {
		t.Errorf("data/.gitignore = %q: a line was lost", got)
	}
}

func TestLockFailsClearly(t *testing.T) {
	r := newRepo(t)
	unlock, err := r.Lock(t.Context(), DefaultLockWait)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	other, _ := Open(r.Root)
	_, err = other.Add(t.Context(), []string{other.abs("data/raw")}, AddOptions{LockWait: 100e6})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another housectl or DVC process") {
		t.Errorf("err = %v", err)
	}
}

func TestInterruptedAddLeavesNoPartialObject(t *testing.T) {
	r := newRepo(t)
	for i := range 300 {
		write(t, r.abs("data/big/"+strings.Repeat("x", 1+i%7)+string(rune('a'+i%26))+"/"+string(rune('a'+i/26))), strings.Repeat("z", 4096+i))
	}
	// Cancelled part-way through storing the files in the cache.
	ctx := &cancelAfter{Context: t.Context(), n: 100}
	if _, err := r.Add(ctx, []string{r.abs("data/big")}, AddOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	stored := 0
	_ = filepath.WalkDir(filepath.Join(r.Cache.Dir, "files"), func(_ string, d fs.DirEntry, _ error) error {
		if d != nil && !d.IsDir() {
			stored++
		}
		return nil
	})
	if stored == 0 || stored >= 300 {
		t.Errorf("%d objects stored: the add was not interrupted part-way", stored)
	}
	checkCache(t, r)
	if _, err := os.Stat(r.abs("data/big.dvc")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("an interrupted add wrote its .dvc file")
	}
}

// cancelAfter reports cancellation from its n-th Err call on.
type cancelAfter struct {
	context.Context
	mu sync.Mutex
	n  int
}

func (c *cancelAfter) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return c.Context.Err()
}

// checkCache fails if any cache object does not hash to its name or a
// temporary file is left.
func checkCache(t *testing.T, r *Repo) {
	t.Helper()
	base := filepath.Join(r.Cache.Dir, "files", "md5")
	_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".tmp") {
			t.Errorf("temporary file left: %s", p)
			return nil
		}
		id := ID(filepath.Base(filepath.Dir(p)) + filepath.Base(p))
		if err := r.Cache.Verify(id, false); err != nil && !id.IsDir() {
			t.Errorf("%s: %v", p, err)
		}
		return nil
	})
}

// A lock taken after a holder that was killed removes the temporary files
// the killed copy left in the cache; a clean holder's successor does not
// walk the cache.
func TestLockSweepsAKilledHoldersTemporaryFiles(t *testing.T) {
	r := newRepo(t)
	tmp := filepath.Join(r.Cache.Dir, "files", "md5", "ab", ".cdef.123.tmp")
	write(t, tmp, "part of an object")
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(tmp, old, old); err != nil {
		t.Fatal(err)
	}
	// A clean unlock: the next holder leaves the cache alone.
	unlock, err := r.Lock(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Stat(tmp); err != nil {
		t.Fatalf("swept after a clean unlock: %v", err)
	}
	// A holder killed while holding the lock leaves its marker.
	write(t, filepath.Join(r.Dir(), "tmp", "housectl-writing"), "4242\n")
	unlock, err = r.Lock(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed holder's temporary file is still there: %v", err)
	}
}

// TestAddIsAllOrNothing: a target DVC cannot record stops the whole add
// before anything is written. Real DVC 3.64.0 on the same trees:
//
//	$ dvc add $'top\xe9'      # and d/ holding $'in\xe9', and $'dir\xe9'/ok
//	ERROR: unexpected error - 'utf-8' codec can't encode character '\udce9' in position 11: surrogates not allowed
//	$ ln -s nowhere t/dangle && dvc add good t
//	ERROR: [Errno 2] No such file or directory: '/tmp/r2/t/dangle'
//
// (DVC has by then written good.dvc and cached good; housectl writes
// nothing: docs/FORMATS.md.)
func TestAddIsAllOrNothing(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(r *Repo) string // returns the bad target
		want  string
	}{
		{"a name that is not UTF-8", func(r *Repo) string {
			write(t, r.abs("top\xe9"), "x\n")
			return r.abs("top\xe9")
		}, `"top\xe9": the name is not UTF-8`},
		{"a name that is not UTF-8, inside a directory", func(r *Repo) string {
			write(t, r.abs("d/in\xe9"), "y\n")
			return r.abs("d")
		}, `"d/in\xe9": the name is not UTF-8`},
		{"a directory name that is not UTF-8", func(r *Repo) string {
			write(t, r.abs("dir\xe9/ok"), "z\n")
			return r.abs("dir\xe9")
		}, `"dir\xe9": the name is not UTF-8`},
		{"a line break in a name", func(r *Repo) string {
			write(t, r.abs("a\nb"), "x\n")
			return r.abs("a\nb")
		}, "holds a line break (U+000A)"},
		{"a broken symlink inside a directory", func(r *Repo) string {
			write(t, r.abs("t/a"), "a\n")
			if err := os.Symlink("nowhere", r.abs("t/dangle")); err != nil {
				t.Fatal(err)
			}
			return r.abs("t")
		}, `t/dangle is a symbolic link to "nowhere", which does not exist`},
		{"a missing target", func(r *Repo) string { return r.abs("nothere") }, "output 'nothere' does not exist"},
	} {
		r := newRepo(t)
		write(t, r.abs("good"), "good\n")
		bad := tt.setup(r)
		_, err := r.Add(t.Context(), []string{r.abs("good"), bad}, AddOptions{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
		for _, p := range []string{"good.dvc", ".gitignore"} {
			if _, err := os.Stat(r.abs(p)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s: %s written (%v)", tt.name, p, err)
			}
		}
		if ents, _ := os.ReadDir(r.Cache.Dir + "/files/md5"); len(ents) != 0 {
			t.Errorf("%s: %d cache entries written", tt.name, len(ents))
		}
	}
	// The checks above can fail: the good target alone is added.
	r := newRepo(t)
	write(t, r.abs("good"), "good\n")
	if _, err := r.Add(t.Context(), []string{r.abs("good")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(r.Cache.Dir + "/files/md5"); len(ents) == 0 {
		t.Error("no cache entry after a good add")
	}
	if _, err := os.Stat(r.abs("good.dvc")); err != nil {
		t.Error(err)
	}
}

// TestLegacyDirectoryRoundTrip: a DVC 2 directory output and a DVC 2 file
// are checked out from the legacy cache layout, pushed to the legacy
// remote layout and pulled back, as real DVC 3.64.0 does. The repository
// is the one it was checked with (old/ holding a CRLF file, and f.txt; ids
// from DVC 2's md5-dos2unix); with it, `dvc checkout` printed "A old/" and
// "A f.txt", `dvc push` "4 files pushed" into <remote>/<2>/<30>, and, with
// the cache and workspace removed, `dvc pull` "4 files fetched and 3 files
// added".
func TestLegacyDirectoryRoundTrip(t *testing.T) {
	r := newRepo(t)
	ctx := t.Context()
	crlf, plain, f := "a,b\r\n1,2\r\n", "plain\n", "x\r\ny\r\n"
	m := Manifest{{MD5: "e5ebd4c02cefbe7955977c67ada242b7", RelPath: "a.csv"}, {MD5: "5839145a19c13f3ffb0a3b9527e0a912", RelPath: "b.txt"}}
	const dirID, fileID = "0304eb9de000503a129d87a7027670d1.dir", "1b5bb282b8f8792875e3c4203cfa9c57"
	if m.ID() != dirID {
		t.Fatalf("legacy manifest id %s, DVC's is %s", m.ID(), dirID)
	}
	write(t, r.abs(".dvc/cache/03/04eb9de000503a129d87a7027670d1.dir"), string(m.Encode()))
	write(t, r.abs(".dvc/cache/e5/ebd4c02cefbe7955977c67ada242b7"), crlf)
	write(t, r.abs(".dvc/cache/58/39145a19c13f3ffb0a3b9527e0a912"), plain)
	write(t, r.abs(".dvc/cache/1b/5bb282b8f8792875e3c4203cfa9c57"), f)
	write(t, r.abs("old.dvc"), "outs:\n- md5: "+dirID+"\n  size: 16\n  nfiles: 2\n  path: old\n")
	write(t, r.abs("f.txt.dvc"), "outs:\n- md5: "+fileID+"\n  size: 6\n  path: f.txt\n")

	ch, err := r.Checkout(ctx, []string{r.abs("old.dvc"), r.abs("f.txt.dvc")}, CheckoutOptions{})
	if err != nil || len(ch) != 2 {
		t.Fatalf("checkout: %+v %v", ch, err)
	}
	if read(t, r.abs("old/a.csv")) != crlf || read(t, r.abs("old/b.txt")) != plain || read(t, r.abs("f.txt")) != f {
		t.Fatal("legacy checkout did not restore the raw bytes")
	}
	if st, err := r.Status(ctx, []string{r.abs("old.dvc"), r.abs("f.txt.dvc")}, 0); err != nil || len(st) != 0 {
		t.Errorf("status after checkout: %v %v", st, err)
	}

	store := t.TempDir()
	if err := r.AddRemote(LevelRepo, "st", store, true, false); err != nil {
		t.Fatal(err)
	}
	rem, _ := r.Remote("")
	res, err := r.Push(ctx, rem, []string{r.abs("old.dvc"), r.abs("f.txt.dvc")}, TransferOptions{})
	if err != nil || res.Transferred != 4 {
		t.Fatalf("push: %+v %v", res, err)
	}
	for _, k := range []string{"03/04eb9de000503a129d87a7027670d1.dir", "e5/ebd4c02cefbe7955977c67ada242b7", "58/39145a19c13f3ffb0a3b9527e0a912", "1b/5bb282b8f8792875e3c4203cfa9c57"} {
		if _, err := os.Stat(filepath.Join(store, k)); err != nil {
			t.Errorf("not in the legacy remote layout: %v", err)
		}
	}

	for _, p := range []string{".dvc/cache", "old", "f.txt"} {
		if err := os.RemoveAll(r.abs(p)); err != nil {
			t.Fatal(err)
		}
	}
	// Gone from the cache too: "not in cache", as DVC says.
	st, _ := r.Status(ctx, []string{r.abs("f.txt.dvc")}, 0)
	if len(st) != 1 || st[0].Status != StatusNotInCache {
		t.Errorf("status with neither workspace nor cache: %v", st)
	}
	res, err = r.Pull(ctx, rem, []string{r.abs("old.dvc"), r.abs("f.txt.dvc")}, TransferOptions{}, CheckoutOptions{})
	if err != nil || res.Transferred != 4 {
		t.Fatalf("pull: %+v %v", res, err)
	}
	added := 0
	for _, c := range res.Changes {
		added += c.Added
	}
	if added != 3 || read(t, r.abs("old/a.csv")) != crlf {
		t.Errorf("pull added %d files: %+v", added, res.Changes)
	}
}

// TestEmptyDirectoryRoundTrip: DVC restores an empty directory output
// (`dvc checkout` printed "A empty/"); housectl failed with an lstat error.
func TestEmptyDirectoryRoundTrip(t *testing.T) {
	r := newRepo(t)
	ctx := t.Context()
	if err := os.Mkdir(r.abs("empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := r.Add(ctx, []string{r.abs("empty")}, AddOptions{})
	if err != nil || res[0].MD5 != "d751713988987e9331980363e24189ce.dir" {
		t.Fatalf("add: %+v %v", res, err)
	}
	store := t.TempDir()
	if err := r.AddRemote(LevelRepo, "st", store, true, false); err != nil {
		t.Fatal(err)
	}
	rem, _ := r.Remote("")
	if _, err := r.Push(ctx, rem, nil, TransferOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(r.abs("empty")); err != nil {
		t.Fatal(err)
	}
	ch, err := r.Checkout(ctx, []string{r.abs("empty")}, CheckoutOptions{})
	if err != nil || len(ch) != 1 || ch[0] != (Change{Kind: "A", Path: "empty", Dir: true}) {
		t.Fatalf("checkout: %+v %v", ch, err)
	}
	if fi, err := os.Stat(r.abs("empty")); err != nil || !fi.IsDir() {
		t.Fatalf("not restored: %v", err)
	}
	for _, p := range []string{".dvc/cache", "empty"} {
		if err := os.RemoveAll(r.abs(p)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Pull(ctx, rem, []string{r.abs("empty")}, TransferOptions{}, CheckoutOptions{}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(r.abs("empty")); err != nil || !fi.IsDir() {
		t.Fatalf("not pulled: %v", err)
	}
}

func TestStatusJSONIsDVCs(t *testing.T) {
	// `dvc status --json | cat` on the same three outputs (DVC lists them in
	// its index's order; housectl sorts).
	got := StatusJSON([]OutStatus{{"f.dvc", "f", StatusDeleted}, {"g.dvc", "g", StatusModified}, {"h.dvc", "h", StatusNotInCache}, {"h.dvc", "h2/é", StatusDeleted}})
	want := `{"f.dvc": [{"changed outs": {"f": "deleted"}}], "g.dvc": [{"changed outs": {"g": "modified"}}], "h.dvc": [{"changed outs": {"h": "not in cache", "h2/\u00e9": "deleted"}}]}`
	if string(got) != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if string(StatusJSON(nil)) != "{}" {
		t.Error("empty status is not {}")
	}
}

// TestMain keeps DVC's user and machine configuration files of this
// machine out of the tests.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dvc-config")
	if err != nil {
		panic(err)
	}
	os.Setenv("DVC_GLOBAL_CONFIG_DIR", filepath.Join(dir, "global"))
	os.Setenv("DVC_SYSTEM_CONFIG_DIR", filepath.Join(dir, "system"))
	code := s3test.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
