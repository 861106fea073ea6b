package dvc

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
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
	fh := FileHash{Size: fi.Size(), Exec: fi.Mode().Perm()&0o111 != 0}
	key := h.rel(abs)
	hash := HashReader
	if h.Legacy {
		key, hash = "md5-dos2unix:"+key, HashLegacyReader
	}
	if id, ok := h.State.Get(key, fi); ok {
		fh.ID = id
		return fh, nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return FileHash{}, err
	}
	id, n, err := hash(f)
	f.Close()
	if err != nil {
		return FileHash{}, fmt.Errorf("hash %s: %w", abs, err)
	}
	if n != fi.Size() {
		return FileHash{}, fmt.Errorf("%s changed while it was being hashed", abs)
	}
	fh.ID = id
	h.State.Put(key, fi, id)
	return fh, nil
}

// Dir hashes every file under abs that is not ignored, in parallel, and
// returns the directory's manifest and id. A .dvcignore inside the
// directory is refused, as DVC refuses it.
func (h *Hasher) Dir(ctx context.Context, abs string) (*Tree, error) {
	type job struct {
		abs string
		rel string
		fi  fs.FileInfo
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
		if d.Name() == IgnoreFile {
			return fmt.Errorf(".dvcignore file should not be in collected dir path: '%s'", relDir)
		}
		if d.IsDir() {
			return nil
		}
		fi, err := os.Stat(p) // follows a symlink to its file
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		jobs = append(jobs, job{abs: p, rel: strings.TrimPrefix(rel, relDir+"/"), fi: fi})
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
			fh, err := h.file(j.abs, j.fi)
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
