package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// Dir is a Store in a local directory: a key is a file path under Root.
//
// A Put writes a hidden temporary file beside the target (".NAME.*.tmp"),
// syncs it, then links it to the key when IfAbsent (link(2) fails if the
// name exists, so creation is atomic and exclusive) or renames it over the
// key otherwise, and syncs the directory. A crash leaves the old object or
// the new one, and at worst a temporary file, which Sweep removes.
//
// An IfMatch Put holds an flock(2) on Root/.cas.lock while it compares
// and renames, so compare-and-swap is atomic between processes that use
// Dir on the same directory. The ETag is the SHA-256 of the content.
//
// Names whose last element starts with '.' are the implementation's
// (temporary files, locks): they are not valid keys and are not listed.
type Dir struct {
	Root string
	// LockWait bounds the wait for the compare-and-swap lock (default 10 s).
	LockWait time.Duration
}

func etag(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// path checks a key and returns its file.
func (d *Dir) path(key string) (string, error) {
	if key == "" || !fs.ValidPath(key) || strings.HasPrefix(path.Base(key), ".") {
		return "", fmt.Errorf("blob: invalid key %q", key)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Get implements Store.
func (d *Dir) Get(_ context.Context, key string) ([]byte, string, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, "", err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("%s: %w", p, ErrNotExist)
	}
	if err != nil {
		return nil, "", err
	}
	return b, etag(b), nil
}

// Stat implements Store: the ETag is the content's SHA-256, so the file
// is read.
func (d *Dir) Stat(ctx context.Context, key string) (string, error) {
	_, tag, err := d.Get(ctx, key)
	return tag, err
}

// Put implements Store. Objects created with IfAbsent are made read-only
// (0444): they are written once.
func (d *Dir) Put(ctx context.Context, key string, data []byte, cond Cond) (string, error) {
	p, err := d.path(key)
	if err != nil {
		return "", err
	}
	perm := fs.FileMode(0o644)
	if cond.IfAbsent {
		perm = 0o444
	}
	f, err := atomicfile.Create(p, perm)
	if err != nil {
		return "", err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return "", fmt.Errorf("write %s: %w", p, err)
	}
	switch {
	case cond.IfAbsent:
		err = f.CommitNew()
		if errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("%s: %w", p, ErrPrecondition)
		}
	case cond.IfMatch != "":
		unlock, lerr := d.lock(ctx)
		if lerr != nil {
			return "", lerr
		}
		defer unlock()
		cur, rerr := os.ReadFile(p)
		switch {
		case errors.Is(rerr, fs.ErrNotExist):
			return "", fmt.Errorf("%s: %w (it no longer exists)", p, ErrPrecondition)
		case rerr != nil:
			return "", rerr
		case etag(cur) != cond.IfMatch:
			return "", fmt.Errorf("%s: %w", p, ErrPrecondition)
		}
		err = f.Commit()
	default:
		err = f.Commit()
	}
	if err != nil {
		return "", err
	}
	return etag(data), nil
}

func (d *Dir) lock(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(d.Root, 0o755); err != nil {
		return nil, err
	}
	fl := flock.New(filepath.Join(d.Root, ".cas.lock"))
	wait := d.LockWait
	if wait == 0 {
		wait = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := fl.TryLockContext(ctx, 2*time.Millisecond)
	if err != nil || !ok {
		return nil, fmt.Errorf("%s is locked by another housectl process (waited %v): try again", d.Root, wait)
	}
	return func() { _ = fl.Unlock() }, nil
}

// Delete implements Store.
func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", p, ErrNotExist)
	} else if err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(p))
}

// List implements Store.
func (d *Dir) List(_ context.Context, prefix string) ([]Info, error) {
	// Walk the deepest directory that holds every key with the prefix.
	base := prefix[:strings.LastIndexByte(prefix, '/')+1]
	root := filepath.Join(d.Root, filepath.FromSlash(base))
	var out []Info
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == root {
				return fs.SkipAll
			}
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != root {
			if e.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.Root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Sweep removes the temporary files that interrupted Puts left in the
// directory of prefix and below, if they were last written before
// olderThan, and returns their number. Call it while holding the lock
// that every writer there takes, with the time it was taken: a
// temporary file older than that belongs to a writer that is gone.
func (d *Dir) Sweep(prefix string, olderThan time.Time) (int, error) {
	base := prefix[:strings.LastIndexByte(prefix, '/')+1]
	return atomicfile.Sweep(filepath.Join(d.Root, filepath.FromSlash(base)), olderThan)
}
