package dvc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// FileHash is one hashed file.
type FileHash struct {
	RelPath string // slash-separated, relative to the hashed directory
	ID      ID
	Size    int64
	Exec    bool
}

// Tree is a hashed directory.
type Tree struct {
	ID       ID
	Size     int64
	NFiles   int
	Manifest Manifest
	Files    []FileHash // in manifest order
}

// Hasher hashes files and directories for a repository, reusing and
// filling the state table.
type Hasher struct {
	Root   string // repository root; state keys are relative to it
	State  *State
	Ignore *Ignore
	// Jobs is how many files are hashed at once; 0 means DVC's default,
	// min(16, cpus+4).
	Jobs int
	// Legacy hashes as DVC 2 did (md5-dos2unix), to check legacy outputs.
	Legacy bool
}

func (h *Hasher) jobs() int {
	if h.Jobs > 0 {
		return h.Jobs
	}
	return min(16, runtime.NumCPU()+4)
}

func (h *Hasher) rel(abs string) string {
	r, err := filepath.Rel(h.Root, abs)
	if err != nil {
		return abs
	}
	return filepath.ToSlash(r)
}

// File returns the id, size and exec bit of one file.
func (h *Hasher) File(abs string) (FileHash, error) {
	fi, err := os.Stat(abs)
	if err != nil {
		return FileHash{}, err
	}
	return h.file(abs, fi)
}

func (h *Hasher) file(abs string, fi fs.FileInfo) (FileHash, error) {
	key := h.stateKey(abs)
	if id, ok := h.State.Get(key, fi); ok {
		return FileHash{ID: id, Size: fi.Size(), Exec: fi.Mode().Perm()&0o111 != 0}, nil
	}
	return h.hashAndRemember(abs, key)
}

func (h *Hasher) stateKey(abs string) string {
	if h.Legacy {
		return "md5-dos2unix:" + h.rel(abs)
	}
	return h.rel(abs)
}

// hashAndRemember reads the file and records its id in the state.
func (h *Hasher) hashAndRemember(abs, key string) (FileHash, error) {
	id, st, err := hashPath(abs, h.Legacy)
	if err != nil {
		return FileHash{}, err
	}
	h.State.put(key, keyOfStat(st), id)
	return FileHash{ID: id, Size: st.Size, Exec: st.Mode&0o111 != 0}, nil
}

// walkedFile hashes a file found by Dir: a stat only when the state table
// may answer without reading it.
func (h *Hasher) walkedFile(abs, key string) (FileHash, error) {
	if h.State != nil {
		var st unix.Stat_t
		if err := unix.Stat(abs, &st); err != nil {
			return FileHash{}, &os.PathError{Op: "stat", Path: abs, Err: err}
		}
		if id, ok := h.State.get(key, keyOfStat(&st)); ok {
			return FileHash{ID: id, Size: st.Size, Exec: st.Mode&0o111 != 0}, nil
		}
	}
	return h.hashAndRemember(abs, key)
}

// Dir hashes every file under abs that is not ignored, in parallel, and
// returns the directory's manifest and id. A .dvcignore inside the
// directory is refused, as DVC refuses it.
func (h *Hasher) Dir(ctx context.Context, abs string) (*Tree, error) {
	type job struct {
		abs string
		rel string // relative to the hashed directory
		key string // state key: relative to the root
	}
	var jobs []job
	relDir := h.rel(abs)
	err := filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == abs {
			return nil
		}
		rel := h.rel(p)
		if h.Ignore != nil {
			if d.IsDir() {
				if err := h.Ignore.load(rel); err != nil {
					return err
				}
			}
			if ignored, _ := h.Ignore.Match(rel, d.IsDir()); ignored {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if err := CheckName(rel); err != nil {
			return err
		}
		if d.Name() == IgnoreFile {
			return fmt.Errorf(".dvcignore file should not be in collected dir path: '%s'", relDir)
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			// A symlink counts when it leads to a regular file (DVC hashes
			// its target's content); devices, sockets and pipes do not.
			fi, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) && d.Type()&fs.ModeSymlink != 0 {
				target, _ := os.Readlink(p)
				return fmt.Errorf("%s is a symbolic link to %q, which does not exist (DVC stops at it too): fix or remove the link, or add it to .dvcignore", rel, target)
			}
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		}
		key := rel
		if h.Legacy {
			key = "md5-dos2unix:" + rel
		}
		jobs = append(jobs, job{abs: p, rel: strings.TrimPrefix(rel, relDir+"/"), key: key})
		return nil
	})
	if err != nil {
		return nil, err
	}
	files := make([]FileHash, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.jobs())
	for i, j := range jobs {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			fh, err := h.walkedFile(j.abs, j.key)
			if err != nil {
				return err
			}
			fh.RelPath = j.rel
			files[i] = fh
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	t := &Tree{Files: files, NFiles: len(files), Manifest: make(Manifest, len(files))}
	slices.SortFunc(t.Files, func(a, b FileHash) int { return strings.Compare(a.RelPath, b.RelPath) })
	for i, f := range t.Files {
		t.Manifest[i] = Entry{MD5: f.ID, RelPath: f.RelPath}
		t.Size += f.Size
	}
	t.ID = t.Manifest.ID()
	return t, nil
}
