package dvc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// ErrNotRepo is returned when no .dvc directory is found.
var ErrNotRepo = errors.New("not a DVC repository")

// ErrLocked is returned when another process holds the repository lock.
var ErrLocked = errors.New("repository is locked")

// Repo is a directory that has a .dvc directory.
type Repo struct {
	Root   string
	Cache  Cache
	State  *State
	Ignore *Ignore
}

// Dir is the .dvc directory.
func (r *Repo) Dir() string { return filepath.Join(r.Root, ".dvc") }

// Find opens the repository containing start (start or a parent of it).
func Find(start string) (*Repo, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return nil, err
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, ".dvc")); err == nil && fi.IsDir() {
			return Open(dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil, fmt.Errorf("%w: no .dvc directory in %s or above it; run `housectl init` (or `dvc init`)", ErrNotRepo, start)
		}
		dir = parent
	}
}

// Open opens the repository at root.
func Open(root string) (*Repo, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	r := &Repo{Root: root}
	cfg, err := r.Config()
	if err != nil {
		return nil, err
	}
	cacheDir := filepath.Join(r.Dir(), "cache")
	d, f, err := cfg.Lookup("cache", "dir")
	if err != nil {
		return nil, err
	}
	if d != "" {
		// As DVC: a relative path is relative to the file that says it.
		if !filepath.IsAbs(d) {
			d = filepath.Join(filepath.Dir(f.Path), d)
		}
		cacheDir = d
	}
	r.Cache = Cache{Dir: cacheDir}
	r.State = OpenState(filepath.Join(r.Dir(), "tmp", "housectl", "state"))
	if r.Ignore, err = NewIgnore(root); err != nil {
		return nil, err
	}
	return r, nil
}

// Init makes root a DVC repository as `dvc init` does: .dvc/config,
// .dvc/.gitignore and .dvcignore, each written only if missing. It returns
// the files it created.
func Init(root string) ([]string, error) {
	files := []struct{ path, data string }{
		{filepath.Join(root, ".dvc", "config"), ""},
		{filepath.Join(root, ".dvc", ".gitignore"), "/config.local\n/tmp\n/cache\n"},
		{filepath.Join(root, IgnoreFile), "# Add patterns of files dvc should ignore, which could improve\n# the performance. Learn more at\n# https://dvc.org/doc/user-guide/dvcignore\n"},
	}
	var created []string
	for _, f := range files {
		if _, err := os.Stat(f.path); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return created, err
		}
		if err := atomicfile.WriteFile(f.path, []byte(f.data), 0o644); err != nil {
			return created, err
		}
		created = append(created, f.path)
	}
	return created, nil
}

// Lock takes the repository lock (.dvc/tmp/lock, the file DVC locks too),
// waiting up to wait (0: DefaultLockWait) for another process to release it.
//
// While housectl holds the lock, .dvc/tmp/housectl-writing exists; it is
// removed on unlock. Finding it when taking the lock means the last holder
// was killed, so the temporary files it left in the cache (an interrupted
// copy's ".<name>.*.tmp"), older than this lock, are removed.
func (r *Repo) Lock(ctx context.Context, wait time.Duration) (unlock func(), err error) {
	if wait == 0 {
		wait = DefaultLockWait
	}
	p := filepath.Join(r.Dir(), "tmp", "lock")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	fl := flock.New(p)
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := fl.TryLockContext(wctx, 50*time.Millisecond)
	if err := ctx.Err(); err != nil {
		if ok {
			_ = fl.Unlock()
		}
		return nil, err
	}
	if err != nil && wctx.Err() == nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: unable to acquire lock %s within %s; most likely another housectl or DVC process is running. Wait for it to finish and try again", ErrLocked, p, wait)
	}
	lockedAt := time.Now()
	marker := filepath.Join(r.Dir(), "tmp", "housectl-writing")
	if _, err := os.Stat(marker); err == nil {
		if _, err := atomicfile.Sweep(r.Cache.Dir, lockedAt); err != nil {
			_ = fl.Unlock()
			return nil, fmt.Errorf("remove the temporary files of an interrupted command: %w", err)
		}
	}
	if err := os.WriteFile(marker, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return func() {
		_ = os.Remove(marker)
		_ = fl.Unlock()
	}, nil
}

// Rel returns abs relative to the root, slash-separated.
func (r *Repo) Rel(abs string) string {
	rel, err := filepath.Rel(r.Root, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(rel)
}

// Hasher returns a hasher that uses the repository's state and ignores.
func (r *Repo) Hasher(jobs int) *Hasher {
	return &Hasher{Root: r.Root, State: r.State, Ignore: r.Ignore, Jobs: jobs}
}

// addGitignore appends "/name" to the .gitignore in abs's parent directory,
// as DVC does for every cached output, unless git already ignores abs (a
// line says it, or another pattern covers it: DVC's scm.ignore asks
// is_ignored first). It reports whether it wrote.
func addGitignore(abs string, isDir bool) (string, bool, error) {
	gi := filepath.Join(filepath.Dir(abs), ".gitignore")
	entry := "/" + gitignoreEscape(filepath.Base(abs))
	if ignored, _, err := GitIgnored(abs, isDir); err != nil || ignored {
		return gi, false, err
	}
	old, err := os.ReadFile(gi)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return gi, false, err
	}
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		if sc.Text() == entry {
			return gi, false, nil
		}
	}
	var b bytes.Buffer
	b.Write(old)
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		b.WriteByte('\n')
	}
	b.WriteString(entry + "\n")
	return gi, true, atomicfile.WriteFile(gi, b.Bytes(), 0o644)
}

// gitignoreEscape escapes a name for a .gitignore line as DVC does
// (pathspec's GitWildMatchPattern.escape: "[]!*#?" anywhere), and also
// what DVC leaves bare but git reads specially: a backslash, and spaces at
// the end, which git would strip (DVC writes "/trail ", which ignores
// "trail"; docs/FORMATS.md).
func gitignoreEscape(name string) string {
	var b strings.Builder
	trail := len(name) - len(strings.TrimRight(name, " "))
	for i, c := range name {
		if strings.ContainsRune(`[]!*#?\`, c) || (c == ' ' && i >= len(name)-trail) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
