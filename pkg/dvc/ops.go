package dvc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/housectl/housectl/pkg/atomicfile"
)

// DefaultLockWait is how long a command waits for another one's lock, as
// DVC's default.
const DefaultLockWait = 3 * time.Second

// AddOptions configure Add.
type AddOptions struct {
	Jobs     int
	LockWait time.Duration // 0 means DefaultLockWait
}

// AddResult describes one added path.
type AddResult struct {
	Path      string `json:"path"`     // relative to the repository root
	DvcFile   string `json:"dvc_file"` // relative to the repository root
	MD5       ID     `json:"md5"`
	Size      int64  `json:"size"`
	NFiles    int    `json:"nfiles,omitempty"`
	Changed   bool   `json:"changed"` // the recorded hash changed (or the .dvc file is new)
	Gitignore string `json:"gitignore,omitempty"`
}

// Add hashes each path, stores its content in the cache, writes PATH.dvc
// and adds "/name" to the parent's .gitignore, as `dvc add` does. It holds
// the repository lock while it works. It is all or nothing: every target
// is checked and hashed before anything is written, so one bad target
// (missing, ignored, a name DVC cannot record, a broken symlink inside a
// directory) leaves the repository as it was. Real DVC 3.64.0 writes the
// .dvc files of the targets before the bad one (docs/FORMATS.md).
func (r *Repo) Add(ctx context.Context, paths []string, opts AddOptions) ([]AddResult, error) {
	unlock, err := r.Lock(ctx, opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	defer func() { _ = r.State.Save() }()
	noSCM, err := r.noSCM()
	if err != nil {
		return nil, err
	}
	plans := make([]addPlan, 0, len(paths))
	for _, p := range paths {
		pl, err := r.planAdd(ctx, p, opts)
		if err != nil {
			return nil, err
		}
		plans = append(plans, pl)
	}
	var out []AddResult
	for _, pl := range plans {
		res, err := r.commitAdd(ctx, pl, noSCM)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}

// noSCM reports core.no_scm.
func (r *Repo) noSCM() (bool, error) {
	cfg, err := r.Config()
	if err != nil {
		return false, err
	}
	return cfg.Bool("core", "no_scm", false)
}

// addPlan is one hashed target of Add, not yet written anywhere.
type addPlan struct {
	abs, rel string
	out      Out
	tree     *Tree // directories
}

// CheckName refuses a path DVC cannot record faithfully: a name that is
// not UTF-8 (DVC stops with "surrogates not allowed"; housectl wrote
// !!binary and a U+FFFD manifest entry), or one with a line break (DVC
// writes it, but a .gitignore line cannot hold it, and NEL, LS and PS are
// read back as spaces).
func CheckName(rel string) error {
	if !utf8.ValidString(rel) {
		return fmt.Errorf("%q: the name is not UTF-8, and DVC can record only UTF-8 names: rename it (e.g. convmv -f latin1 -t utf8), or add it to .dvcignore", rel)
	}
	if i := strings.IndexAny(rel, "\n\r\u0085\u2028\u2029"); i >= 0 {
		return fmt.Errorf("%q: the name holds a line break (%U), which neither a .dvc file nor a .gitignore line keeps: rename it, or add it to .dvcignore", rel, []rune(rel[i:])[0])
	}
	return nil
}

func (r *Repo) planAdd(ctx context.Context, path string, opts AddOptions) (addPlan, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return addPlan{}, err
	}
	rel := r.Rel(abs)
	if rel == "." || strings.HasPrefix(rel, "../") {
		return addPlan{}, fmt.Errorf("%s is outside the repository %s", path, r.Root)
	}
	if err := CheckName(rel); err != nil {
		return addPlan{}, fmt.Errorf("cannot add %w; nothing was added", err)
	}
	if strings.HasSuffix(abs, FileSuffix) {
		return addPlan{}, fmt.Errorf("%s is a .dvc file: add the data it describes instead", rel)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return addPlan{}, fmt.Errorf("output '%s' does not exist: %w; nothing was added", rel, err)
	}
	// As DVC: a .dvc file git ignores would never be committed.
	if ignored, why, err := GitIgnored(abs+FileSuffix, false); err != nil {
		return addPlan{}, err
	} else if ignored {
		return addPlan{}, fmt.Errorf("bad DVC file name '%s' is git-ignored (by %s): change that pattern, or keep the data outside the ignored path; nothing was added", rel+FileSuffix, why)
	}
	if err := r.Ignore.Check(rel, fi.IsDir()); err != nil {
		return addPlan{}, err
	}
	h := r.Hasher(opts.Jobs)
	pl := addPlan{abs: abs, rel: rel, out: Out{Path: filepath.Base(abs), Hash: "md5"}}
	if fi.IsDir() {
		t, err := h.Dir(ctx, abs)
		if err != nil {
			return addPlan{}, fmt.Errorf("cannot add %s: %w; nothing was added", rel, err)
		}
		pl.tree = t
		pl.out.MD5, pl.out.Size, pl.out.NFiles = t.ID, t.Size, t.NFiles
		return pl, nil
	}
	fh, err := h.file(abs, fi)
	if err != nil {
		return addPlan{}, err
	}
	pl.out.MD5, pl.out.Size, pl.out.IsExec = fh.ID, fh.Size, fh.Exec
	return pl, nil
}

func (r *Repo) commitAdd(ctx context.Context, pl addPlan, noSCM bool) (AddResult, error) {
	abs, rel, o := pl.abs, pl.rel, pl.out
	if pl.tree != nil {
		for _, f := range pl.tree.Files {
			if err := ctx.Err(); err != nil {
				return AddResult{}, err
			}
			if err := r.Cache.AddFile(filepath.Join(abs, filepath.FromSlash(f.RelPath)), f.ID); err != nil {
				return AddResult{}, err
			}
		}
		if err := r.Cache.AddBytes(pl.tree.ID, pl.tree.Manifest.Encode()); err != nil {
			return AddResult{}, err
		}
	} else if err := r.Cache.AddFile(abs, o.MD5); err != nil {
		return AddResult{}, err
	}

	// The objects must be on disk before a .dvc file points at them.
	if err := SyncFS(r.Cache.Dir); err != nil {
		return AddResult{}, err
	}
	dvcPath := abs + FileSuffix
	res := AddResult{Path: rel, DvcFile: r.Rel(dvcPath), MD5: o.MD5, Size: o.Size, NFiles: o.NFiles, Changed: true}
	var f *File
	if old, err := ReadFile(dvcPath); err == nil {
		f = old
		for _, prev := range old.Outs {
			if prev.Path == o.Path && prev.MD5 == o.MD5 && !prev.Legacy() {
				res.Changed = false
			}
		}
		f.SetOut(o)
	} else if errors.Is(err, fs.ErrNotExist) {
		f = NewFile(o)
	} else {
		return AddResult{}, err
	}
	b, err := f.Bytes()
	if err != nil {
		return AddResult{}, err
	}
	if old, err := os.ReadFile(dvcPath); err != nil || !bytes.Equal(old, b) {
		if err := atomicfile.WriteFile(dvcPath, b, 0o644); err != nil {
			return AddResult{}, err
		}
	}
	// As DVC: with core.no_scm there is no git, and no .gitignore.
	if noSCM {
		return res, nil
	}
	gi, wrote, err := addGitignore(abs, pl.tree != nil)
	if err != nil {
		return AddResult{}, err
	}
	if wrote {
		res.Gitignore = r.Rel(gi)
	}
	return res, nil
}

// Tracked is one output of one .dvc file.
type Tracked struct {
	DvcFile string // relative to the root
	Out     Out
	Abs     string // the output's absolute path
}

// Rel is the output's path relative to the root.
func (t Tracked) Rel(r *Repo) string { return r.Rel(t.Abs) }

// Tracked lists the outputs of the .dvc files under the root (skipping
// ignored directories), or of the given targets: .dvc files, or tracked
// data paths.
func (r *Repo) Tracked(targets []string) ([]Tracked, error) {
	var files []string
	if len(targets) == 0 {
		err := filepath.WalkDir(r.Root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p == r.Root {
				return nil
			}
			rel := r.Rel(p)
			if d.IsDir() {
				// A tracked output holds data, not .dvc files.
				if _, err := os.Lstat(p + FileSuffix); err == nil {
					return filepath.SkipDir
				}
				if err := r.Ignore.load(rel); err != nil {
					return err
				}
				if ignored, _ := r.Ignore.Match(rel, true); ignored {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(p, FileSuffix) && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		abs, err := filepath.Abs(t)
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(abs, FileSuffix) {
			abs += FileSuffix
		}
		if _, err := os.Stat(abs); err != nil {
			return nil, fmt.Errorf("%s is not tracked: no %s; run `housectl data add %s` first", t, r.Rel(abs), t)
		}
		files = append(files, abs)
	}
	slices.Sort(files)
	var out []Tracked
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		f, err := ParseFile(b, r.Rel(p))
		if err != nil {
			return nil, err
		}
		for _, o := range f.Outs {
			abs := filepath.Join(filepath.Dir(p), filepath.FromSlash(o.Path))
			out = append(out, Tracked{DvcFile: r.Rel(p), Out: o, Abs: abs})
		}
	}
	return out, nil
}

// Status words, as DVC prints them.
const (
	StatusModified   = "modified"
	StatusDeleted    = "deleted"
	StatusNotInCache = "not in cache"
)

// OutStatus is the status of one changed output.
type OutStatus struct {
	DvcFile string `json:"dvc_file"`
	Path    string `json:"path"`
	Status  string `json:"status"`
}

// workspaceID hashes what is at the output's path now; "" when missing.
// For a directory it also returns the manifest.
func (r *Repo) workspaceID(ctx context.Context, t Tracked, jobs int) (ID, Manifest, error) {
	fi, err := os.Stat(t.Abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	h := r.Hasher(jobs)
	h.Legacy = t.Out.Legacy()
	if fi.IsDir() {
		tr, err := h.Dir(ctx, t.Abs)
		if err != nil {
			return "", nil, err
		}
		return tr.ID, tr.Manifest, nil
	}
	fh, err := h.file(t.Abs, fi)
	return fh.ID, nil, err
}

// inCache reports whether every object of the output is in the cache. m is
// the output's manifest when the caller has it (it matched the workspace),
// else nil and it is read from the cache.
func (r *Repo) inCache(t Tracked, m Manifest) bool {
	legacy := t.Out.Legacy()
	if !r.Cache.Has(t.Out.MD5, legacy) {
		return false
	}
	if !t.Out.MD5.IsDir() {
		return true
	}
	if m == nil {
		var err error
		if m, err = r.Cache.ReadManifest(t.Out.MD5, legacy); err != nil {
			return false
		}
	}
	ids := make([]ID, len(m))
	for i, e := range m {
		ids[i] = e.MD5
	}
	if legacy {
		for _, id := range ids {
			if !r.Cache.Has(id, true) {
				return false
			}
		}
		return true
	}
	// Objects are write-once: once all were found, an unchanged fan-out
	// signature proves none has been removed since.
	if want, ok := r.State.Complete(t.Out.MD5); ok {
		if sig, err := r.Cache.FanoutSignature(ids); err == nil && sig == want {
			return true
		}
	}
	if !r.Cache.HasAll(ids) {
		return false
	}
	if sig, err := r.Cache.FanoutSignature(ids); err == nil {
		r.State.SetComplete(t.Out.MD5, sig)
	}
	return true
}

// Status compares every tracked output with the workspace and the cache.
// Unchanged outputs are not listed.
func (r *Repo) Status(ctx context.Context, targets []string, jobs int) ([]OutStatus, error) {
	tracked, err := r.Tracked(targets)
	if err != nil {
		return nil, err
	}
	defer func() { _ = r.State.Save() }()
	var out []OutStatus
	for _, t := range tracked {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id, m, err := r.workspaceID(ctx, t, jobs)
		if err != nil {
			return nil, err
		}
		// DVC's order (output.py status): an object missing from the cache
		// is reported first, whatever the workspace holds.
		if id != t.Out.MD5 {
			m = nil
		}
		st := ""
		switch {
		case !r.inCache(t, m):
			st = StatusNotInCache
		case id == "":
			st = StatusDeleted
		case id != t.Out.MD5:
			st = StatusModified
		}
		if st != "" {
			out = append(out, OutStatus{DvcFile: t.DvcFile, Path: t.Rel(r), Status: st})
		}
	}
	return out, nil
}

// Change is one line of checkout output: A (added), M (modified), for one
// output, with the number of its files added, modified and deleted (DVC's
// summary counts files; an empty directory counts none).
type Change struct {
	Kind     string `json:"kind"`
	Path     string `json:"path"`
	Dir      bool   `json:"dir,omitempty"`
	Added    int    `json:"added"`
	Modified int    `json:"modified"`
	Deleted  int    `json:"deleted"`
}

// CheckoutOptions configure Checkout.
type CheckoutOptions struct {
	Jobs int
	// Force discards workspace changes that are not in the cache.
	Force    bool
	LockWait time.Duration
}

// ErrUncommitted is returned when checkout would destroy data that exists
// nowhere else.
var ErrUncommitted = errors.New("workspace has changes that are not in the cache")

// Checkout makes the tracked outputs (all, or the targets) match their
// cached content: missing ones are restored (A), changed ones replaced (M).
// A corrupt cache object is never checked out: the other outputs are, and
// the error lists the corrupt ones.
func (r *Repo) Checkout(ctx context.Context, targets []string, opts CheckoutOptions) ([]Change, error) {
	unlock, err := r.Lock(ctx, opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return r.checkout(ctx, targets, opts)
}

// checkout is Checkout for a caller that holds the lock.
func (r *Repo) checkout(ctx context.Context, targets []string, opts CheckoutOptions) ([]Change, error) {
	defer func() { _ = r.State.Save() }()
	tracked, err := r.Tracked(targets)
	if err != nil {
		return nil, err
	}
	var changes []Change
	var errs []error
	for _, t := range tracked {
		if err := ctx.Err(); err != nil {
			return changes, err
		}
		id, _, err := r.workspaceID(ctx, t, opts.Jobs)
		if err != nil {
			return changes, err
		}
		if id == t.Out.MD5 {
			continue
		}
		kind := "A"
		if id != "" {
			kind = "M"
			if !opts.Force && !r.Cache.Has(id, t.Out.Legacy()) {
				errs = append(errs, fmt.Errorf("%w: %s differs from %s and its current content is not cached; run `housectl data add %s` to keep it, or checkout --force to discard it",
					ErrUncommitted, t.Rel(r), t.DvcFile, t.Rel(r)))
				continue
			}
		}
		c := Change{Kind: kind, Path: t.Rel(r), Dir: t.Out.MD5.IsDir()}
		if err := r.checkoutOut(ctx, t, &c); err != nil {
			if errors.Is(err, ErrCorrupt) || errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("%s: %w", t.Rel(r), err))
				continue
			}
			return changes, err
		}
		changes = append(changes, c)
	}
	if len(changes) > 0 {
		if err := SyncFS(r.Root); err != nil {
			errs = append(errs, err)
		}
	}
	return changes, errors.Join(errs...)
}

// checkoutOut restores one output, counting the files it adds, replaces
// and removes in c.
func (r *Repo) checkoutOut(ctx context.Context, t Tracked, c *Change) error {
	legacy := t.Out.Legacy()
	if !t.Out.MD5.IsDir() {
		if fi, err := os.Stat(t.Abs); err == nil && fi.IsDir() {
			if err := os.RemoveAll(t.Abs); err != nil {
				return err
			}
		}
		if !r.Cache.Has(t.Out.MD5, legacy) {
			return fmt.Errorf("%w: %s is not in the cache; run `housectl data pull`", fs.ErrNotExist, t.Out.MD5)
		}
		if c.Kind == "A" {
			c.Added++
		} else {
			c.Modified++
		}
		return r.Cache.CheckoutFile(t.Out.MD5, legacy, t.Abs, t.Out.IsExec)
	}
	if !r.Cache.Has(t.Out.MD5, legacy) {
		return fmt.Errorf("%w: directory manifest %s is not in the cache; run `housectl data pull`", fs.ErrNotExist, t.Out.MD5)
	}
	m, err := r.Cache.ReadManifest(t.Out.MD5, legacy)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(t.Abs); err == nil && !fi.IsDir() {
		if err := os.Remove(t.Abs); err != nil {
			return err
		}
	}
	// An empty directory has no file to create it.
	if err := os.MkdirAll(t.Abs, 0o755); err != nil {
		return err
	}
	want := map[string]bool{}
	h := r.Hasher(0)
	h.Legacy = legacy
	for _, e := range m {
		if err := ctx.Err(); err != nil {
			return err
		}
		want[e.RelPath] = true
		dst := filepath.Join(t.Abs, filepath.FromSlash(e.RelPath))
		fh, err := h.File(dst)
		switch {
		case err == nil && fh.ID == e.MD5:
			continue
		case err == nil:
			c.Modified++
		default:
			c.Added++
		}
		if !r.Cache.Has(e.MD5, legacy) {
			return fmt.Errorf("%w: %s (of %s) is not in the cache; run `housectl data pull`", fs.ErrNotExist, e.MD5, e.RelPath)
		}
		if err := r.Cache.CheckoutFile(e.MD5, legacy, dst, false); err != nil {
			return err
		}
	}
	// Files that the manifest does not list go, as in DVC.
	return filepath.WalkDir(t.Abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(t.Abs, p)
		if ignored, _ := r.Ignore.Match(r.Rel(p), false); !want[filepath.ToSlash(rel)] && !ignored {
			c.Deleted++
			return os.Remove(p)
		}
		return nil
	})
}
