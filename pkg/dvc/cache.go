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
	"strings"

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

// Object is one object of a cache or a remote: its id, and whether it is
// DVC 2's (legacy layout <2>/<30>; a file's id is its md5-dos2unix hash)
// or DVC 3's (files/md5/<2>/<30>; the raw MD5).
type Object struct {
	ID     ID
	Legacy bool
}

// Key is the object's path under a cache or remote root, slash-separated.
func (o Object) Key() string {
	s := string(o.ID)
	if o.Legacy {
		return s[:2] + "/" + s[2:]
	}
	return "files/md5/" + s[:2] + "/" + s[2:]
}

// ObjectPath is where the object lives in this cache.
func (c Cache) ObjectPath(o Object) string { return c.pathFor(o.ID, o.Legacy) }

// SyncFS flushes the filesystem that holds dir (syncfs(2)): one call makes
// every object written before it durable.
func SyncFS(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: dir, Err: err}
	}
	return nil
}

// listing returns the set of DVC 3 objects in the cache, read from its 256
// fan-out directories: cheaper than a stat per object for large trees.
func (c Cache) listing() (map[ID]bool, error) {
	base := filepath.Join(c.Dir, "files", "md5")
	fans, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return map[ID]bool{}, nil
	}
	if err != nil {
		return nil, err
	}
	set := map[ID]bool{}
	for _, fan := range fans {
		if !fan.IsDir() || len(fan.Name()) != 2 {
			continue
		}
		ents, err := os.ReadDir(filepath.Join(base, fan.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), ".") {
				set[ID(fan.Name()+e.Name())] = true
			}
		}
	}
	return set, nil
}

// FanoutSignature hashes the mtimes of the fan-out directories (the <2>
// level) that hold ids. Removing an object changes its directory's mtime,
// so an unchanged signature proves that no object of ids was removed since
// it was taken.
func (c Cache) FanoutSignature(ids []ID) (uint64, error) {
	var used [256]bool
	var b [1]byte
	for _, id := range ids {
		if _, err := hex.Decode(b[:], []byte(id[:2])); err != nil {
			return 0, fmt.Errorf("object id %q: %w", id, err)
		}
		used[b[0]] = true
	}
	h := uint64(14695981039346656037)
	base := filepath.Join(c.Dir, "files", "md5")
	for i, u := range used {
		if !u {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(base, fmt.Sprintf("%02x", i)), &st); err != nil {
			return 0, err
		}
		for _, v := range []uint64{uint64(i), uint64(st.Mtim.Nano()), st.Ino} {
			h ^= v
			h *= 1099511628211
		}
	}
	return h, nil
}

// HasAll reports whether every id is in the cache.
func (c Cache) HasAll(ids []ID) bool {
	if len(ids) < 512 {
		for _, id := range ids {
			if !c.Has(id, false) {
				return false
			}
		}
		return true
	}
	set, err := c.listing()
	if err != nil {
		return false
	}
	for _, id := range ids {
		if !set[id] {
			return false
		}
	}
	return true
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

// ReadManifest loads a cached .dir object (from the legacy layout for a
// DVC 2 output), checking that it is intact.
func (c Cache) ReadManifest(id ID, legacy bool) (Manifest, error) {
	p := c.pathFor(id, legacy)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(b) //nolint:gosec
	if got := ID(hex.EncodeToString(sum[:]) + DirSuffix); got != id {
		return nil, &CorruptError{ID: id, Path: p, Got: got}
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
	// No fsync per file: writers of many objects call SyncFS once before
	// they record anything that points at them.
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
