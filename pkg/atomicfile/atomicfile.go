// Package atomicfile writes files so that readers see either the old content
// or the new, never a part: data goes to a temporary file in the same
// directory, is synced, and is renamed over the target; then the directory
// is synced so the rename survives a crash.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// File is a pending write. Write to it, then Commit or Abort. Abort after
// Commit is a no-op, so `defer f.Abort()` is always safe.
type File struct {
	*os.File
	path string
	perm fs.FileMode
	done bool
}

// Create starts a write to path with the given permissions, creating the
// parent directory if needed. The temporary file is hidden (a dot name) and
// ends in .tmp.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &File{File: tmp, path: path, perm: perm}, nil
}

// Commit syncs the data, gives the file its permissions and renames it to
// the target path, then syncs the directory.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: commit after commit or abort")
	}
	f.done = true
	name := f.Name()
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, f.perm)
	}
	if err == nil {
		err = os.Rename(name, f.path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// CommitNew is Commit for a file that must not exist yet: it links the
// synced temporary file to the target, which fails with an error matching
// fs.ErrExist if the target exists, so two writers cannot both create it
// and a reader never sees it part-written. The temporary file is removed
// either way.
func (f *File) CommitNew() error {
	if f.done {
		return errors.New("atomicfile: commit after commit or abort")
	}
	f.done = true
	name := f.Name()
	defer os.Remove(name)
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(name, f.perm)
	}
	if err == nil {
		err = os.Link(name, f.path)
		if err != nil && !errors.Is(err, fs.ErrExist) && linkUnsupported(err) {
			// A file system without hard links: exclusive only between
			// writers that hold a common lock, as every housectl writer does.
			if _, lerr := os.Lstat(f.path); lerr == nil {
				err = &fs.PathError{Op: "create", Path: f.path, Err: fs.ErrExist}
			} else {
				err = os.Rename(name, f.path)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// linkUnsupported reports whether link(2) failed because the file system
// has no hard links.
func linkUnsupported(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS)
}

// IsTemp reports whether a file name is one of Create's temporary files.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}

// Sweep removes the temporary files of interrupted writes (IsTemp names)
// in dir and below that were last written before olderThan, and returns
// how many it removed. Call it holding the lock every writer there takes,
// with the time it was taken: an older temporary file belongs to a writer
// that is gone.
func Sweep(dir string, olderThan time.Time) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() || !IsTemp(e.Name()) {
			return nil
		}
		if fi, err := e.Info(); err != nil || !fi.ModTime().Before(olderThan) {
			return nil //nolint:nilerr // gone meanwhile, or being written: not ours to remove
		}
		if err := os.Remove(p); err == nil {
			n++
		}
		return nil
	})
	return n, err
}

// Abort discards the pending write.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// SyncDir flushes a directory's entries (a rename or a new file) to disk.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
