package dvc

import (
	"crypto/md5" //nolint:gosec // DVC's content address.
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrCorrupt matches every *CorruptError.
var ErrCorrupt = errors.New("corrupt cache object")

// CorruptError is a cache (or remote) object whose content does not hash
// to its name. It is never checked out or uploaded.
type CorruptError struct {
	ID   ID
	Path string
	Got  ID
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("cache object %s is corrupt: its content hashes to %s; delete it and run `housectl data pull` (or re-add the data) to restore it", e.Path, e.Got)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Cache is a DVC 3 local cache directory (.dvc/cache by default).
type Cache struct {
	Dir string
}

// Path is where the object lives: <dir>/files/md5/<2>/<rest>.
func (c Cache) Path(id ID) string { return objectPath(filepath.Join(c.Dir, "files", "md5"), id) }

// LegacyPath is where DVC 2 kept the object: <dir>/<2>/<rest>.
func (c Cache) LegacyPath(id ID) string { return objectPath(c.Dir, id) }

func objectPath(base string, id ID) string {
	s := string(id)
	return filepath.Join(base, s[:2], s[2:])
}

// pathFor is Path, or LegacyPath for legacy outputs.
func (c Cache) pathFor(id ID, legacy bool) string {
	if legacy {
		return c.LegacyPath(id)
	}
	return c.Path(id)
}

// Has reports whether the object is in the cache (not whether it is intact).
func (c Cache) Has(id ID, legacy bool) bool {
	_, err := os.Stat(c.pathFor(id, legacy))
	return err == nil
}

// AddFile copies src into the cache as id, verifying while it copies that
// the bytes still hash to id (the file may have changed since it was
// hashed). An object already present is left alone: objects are
// write-once. New objects are read-only (0444).
func (c Cache) AddFile(src string, id ID) error {
	dst := c.Path(id)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	got, err := copyVerified(src, dst, 0o444)
	if err != nil {
		return err
	}
	if got != id {
		return fmt.Errorf("%s changed while it was being added (was %s, now %s); add it again", src, id, got)
	}
	return nil
}

// AddBytes stores data (a directory manifest) as id.
func (c Cache) AddBytes(id ID, data []byte) error {
	dst := c.Path(id)
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	return writeObject(dst, data)
}

// ReadManifest loads a cached .dir object, checking that it is intact.
func (c Cache) ReadManifest(id ID) (Manifest, error) {
	b, err := os.ReadFile(c.Path(id))
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(b) //nolint:gosec
	if got := ID(hex.EncodeToString(sum[:]) + DirSuffix); got != id {
		return nil, &CorruptError{ID: id, Path: c.Path(id), Got: got}
	}
	return DecodeManifest(b)
}

// Verify re-hashes the object and returns a *CorruptError when its content
// is not its name.
func (c Cache) Verify(id ID, legacy bool) error {
	p := c.pathFor(id, legacy)
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	hash := HashReader
	if legacy {
		hash = HashLegacyReader
	}
	got, _, err := hash(f)
	if err != nil {
		return fmt.Errorf("hash %s: %w", p, err)
	}
	if got != ID(id.Hex()) {
		return &CorruptError{ID: id, Path: p, Got: got}
	}
	return nil
}

// CheckoutFile writes the object to dst atomically (a reflink where the
// filesystem can make one, else a copy), refusing a corrupt object.
func (c Cache) CheckoutFile(id ID, legacy bool, dst string, exec bool) error {
	src := c.pathFor(id, legacy)
	mode := fs.FileMode(0o644)
	if exec {
		mode = 0o755
	}
	if legacy {
		// The legacy id is of converted bytes: verify, then copy.
		if err := c.Verify(id, true); err != nil {
			return err
		}
		_, err := copyVerified(src, dst, mode)
		return err
	}
	got, err := copyVerified(src, dst, mode, id)
	if err != nil {
		return err
	}
	if got != id {
		return &CorruptError{ID: id, Path: src, Got: got}
	}
	return nil
}

// copyVerified copies src to dst through a temporary file beside dst and
// returns the DVC 3 id of the bytes. When want is given and the bytes do not
// match it, dst is not touched. It tries a reflink first and hashes the
// source for verification; else it copies and hashes in one pass.
func copyVerified(src, dst string, mode fs.FileMode, want ...ID) (ID, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return "", err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var got ID
	if unix.IoctlFileClone(int(tmp.Fd()), int(in.Fd())) == nil {
		got, _, err = HashReader(in)
	} else {
		bp := bufPool.Get().(*[]byte)
		h := md5.New() //nolint:gosec
		_, err = io.CopyBuffer(io.MultiWriter(tmp, h), onlyReader{in}, *bp)
		bufPool.Put(bp)
		got = ID(hex.EncodeToString(h.Sum(nil)))
	}
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", src, err)
	}
	if len(want) == 1 && got != want[0] {
		return got, nil
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	committed = true
	return got, nil
}

// writeObject writes data to dst read-only and atomically.
func writeObject(dst string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o444)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
