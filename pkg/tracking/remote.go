package tracking

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/housectl/housectl/pkg/bucket"
	"github.com/housectl/housectl/pkg/exitcode"
)

// Remote is the bucket that holds a Store's runs, in the layout of the
// experiments directory (what PushTree writes). The Store's Dir is then
// the local copy:
//   - the small files of every run (run.json, config.json, history.json)
//     are copied down by Sync, and the bucket wins where they differ, so
//     a run edited in the bucket is read as it is there and its seal
//     reports it;
//   - artifacts are fetched on use into a content-addressed cache
//     (Cache/sha256/<2>/<62>), checked against the SHA-256 the run
//     recorded before anything reads them;
//   - a run is published when it ends: each file created once
//     (If-None-Match: *), its artifacts before its run.json, so a reader
//     never sees a run before its parts. A run that ended while the
//     bucket could not be reached is published by the next Sync.
//
// Finished runs are never rewritten; a file the bucket holds different
// from the local copy is an error, never overwritten.
type Remote struct {
	B *bucket.Bucket
	// Cache is the content-addressed artifact cache's directory.
	Cache string
	// Jobs bounds the transfers in flight (0: 8).
	Jobs int

	once    sync.Mutex
	synced  bool
	syncErr error
}

// ArtifactError is an artifact whose content is not what its run
// recorded: tampered with, or damaged. It is never used (exit 3).
type ArtifactError struct {
	Path string
	Got  string
	Want string
	Run  string
}

func (e *ArtifactError) Error() string {
	return fmt.Sprintf("artifact %s has sha256 %s, but run %s recorded %s: it was changed after the run wrote it, and housectl will not use it; restore it from a copy, or train and register again", e.Path, e.Got, e.Run, e.Want)
}

// ExitCode implements exitcode.Coder.
func (e *ArtifactError) ExitCode() int { return exitcode.Integrity }

func (rm *Remote) jobs() int {
	if rm.Jobs > 0 {
		return rm.Jobs
	}
	return 8
}

// URL names the store: the bucket's URL for a remote store, else the
// directory.
func (s *Store) URL() string {
	if s.Remote != nil {
		return s.Remote.B.String()
	}
	return s.Dir
}

// isArtifact reports whether a run file's key (exp/run/...) is an
// artifact, fetched on use rather than by Sync.
func isArtifact(key string) bool {
	parts := strings.SplitN(key, "/", 4)
	return len(parts) == 4 && parts[2] == "artifacts"
}

// runOf returns exp/run of a run file's key, or "" for a key that is not
// one (the registry's, or a file at the top).
func runOf(key string) string {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 3 || parts[0] == RegistryDir || checkSyncKey(key) != nil {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// Sync brings the local copy up to date with the bucket: the small files
// of every run the bucket holds, then it publishes the local runs that
// ended but are not in the bucket yet. It runs once per Store: later
// calls return the first one's outcome. A local store has nothing to do.
func (s *Store) Sync(ctx context.Context) error {
	rm := s.Remote
	if rm == nil {
		return nil
	}
	rm.once.Lock()
	defer rm.once.Unlock()
	if !rm.synced {
		rm.syncErr = s.sync(ctx)
		rm.synced = true
	}
	return rm.syncErr
}

// Resync brings the local copy up to date with the bucket again, for a
// long-lived reader (housectl ui) that must see what others published
// since its first Sync.
func (s *Store) Resync(ctx context.Context) error {
	rm := s.Remote
	if rm == nil {
		return nil
	}
	rm.once.Lock()
	defer rm.once.Unlock()
	rm.syncErr = s.sync(ctx)
	rm.synced = true
	return rm.syncErr
}

func (s *Store) sync(ctx context.Context) error {
	rm := s.Remote
	remote := map[string]bool{} // runs (exp/run) the bucket has a run.json of
	var want []bucket.Object
	for o, err := range rm.B.List(ctx, "") {
		if err != nil {
			return err
		}
		if exp, file, ok := strings.Cut(o.Name, "/"); ok && file == ExperimentFile && ValidateName("experiment", exp) == nil {
			want = append(want, o) // an experiment made through the API
			continue
		}
		run := runOf(o.Name)
		if run == "" || isArtifact(o.Name) {
			continue
		}
		if path.Base(o.Name) == RunFile {
			remote[run] = true
		}
		want = append(want, o)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(rm.jobs())
	for _, o := range want {
		g.Go(func() error { return s.fetch(gctx, o) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// Runs that ended here but did not reach the bucket.
	_, err := s.forEachLocalRun(func(exp, id string) error {
		if remote[exp+"/"+id] {
			return nil
		}
		r, err := Load(filepath.Join(s.Dir, exp, id))
		if err != nil || r.EndTime == nil {
			return nil //nolint:nilerr // unreadable or running: not ours to publish
		}
		return s.Publish(ctx, r)
	})
	return err
}

// forEachLocalRun calls fn for every run directory of the local copy.
func (s *Store) forEachLocalRun(fn func(exp, id string) error) (int, error) {
	exps, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range exps {
		if !x.IsDir() || x.Name() == RegistryDir || strings.HasPrefix(x.Name(), ".") {
			continue
		}
		runs, err := os.ReadDir(filepath.Join(s.Dir, x.Name()))
		if err != nil {
			return n, err
		}
		for _, r := range runs {
			if r.IsDir() && !strings.HasPrefix(r.Name(), ".") {
				n++
				if err := fn(x.Name(), r.Name()); err != nil {
					return n, err
				}
			}
		}
	}
	return n, nil
}

// fetch makes the local copy of one object of a listing equal to it.
func (s *Store) fetch(ctx context.Context, o bucket.Object) error {
	local := filepath.Join(s.Dir, filepath.FromSlash(o.Name))
	if oc, err := compare(local, o); err == nil && oc == same {
		return nil
	}
	want := o.ETag
	if strings.Contains(want, "-") {
		want = ""
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return err
	}
	return s.Remote.B.GetFile(ctx, o.Name, local, want, 1)
}

// EnsureRun returns the run exp/id, copying its small files from the
// bucket first when the local copy lacks it (a run made on another
// machine): the registry checks a version against its run this way
// without a whole Sync.
func (s *Store) EnsureRun(ctx context.Context, exp, id string) (*Run, error) {
	dir := filepath.Join(s.Dir, exp, id)
	r, err := Load(dir)
	if s.Remote == nil || !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	for o, err := range s.Remote.B.List(ctx, exp+"/"+id+"/") {
		if err != nil {
			return nil, err
		}
		if !isArtifact(o.Name) && runOf(o.Name) == exp+"/"+id {
			if err := s.fetch(ctx, o); err != nil {
				return nil, err
			}
		}
	}
	return Load(dir)
}

// Publish copies an ended run to the bucket: every file created once,
// the artifacts and other files before run.json. A file the bucket
// already holds equal is left; one it holds different is an error.
func (s *Store) Publish(ctx context.Context, r *Run) error {
	if s.Remote == nil {
		return nil
	}
	if r.EndTime == nil {
		return fmt.Errorf("run %s is still running: only an ended run is published", r.ID)
	}
	var files []string
	err := filepath.WalkDir(r.Dir(), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), ".") && p != r.Dir() {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type().IsRegular() && e.Name() != RunFile {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.Remote.jobs())
	for _, p := range files {
		g.Go(func() error { return s.putOnce(gctx, p) })
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("publishing run %s to %s: %w", r.ID, s.Remote.B, err)
	}
	if err := s.putOnce(ctx, filepath.Join(r.Dir(), RunFile)); err != nil {
		return fmt.Errorf("publishing run %s to %s: %w", r.ID, s.Remote.B, err)
	}
	return nil
}

// putOnce creates the object of a local file under its path below Dir,
// unless the bucket holds it equal already.
func (s *Store) putOnce(ctx context.Context, p string) error {
	rel, err := filepath.Rel(s.Dir, p)
	if err != nil {
		return err
	}
	key := filepath.ToSlash(rel)
	b := s.Remote.B
	sum, err := fileMD5(p)
	if err != nil {
		return err
	}
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if st.Size() >= bucket.MultipartThreshold {
		if _, err := b.Stat(ctx, key); err == nil {
			return nil // a multipart ETag is not an MD5: the size-checked part upload made it
		} else if !errors.Is(err, bucket.ErrNotFound) {
			return err
		}
		return b.PutFile(ctx, key, p, sum, 4)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, key, data, bucket.Cond{IfAbsent: true})
	if !errors.Is(err, bucket.ErrPrecondition) {
		return err
	}
	etag, err := b.Stat(ctx, key)
	if err != nil {
		return err
	}
	if etag != sum {
		return fmt.Errorf("%s/%s exists and differs from %s: runs are written once, so one of the two was changed; housectl leaves both as they are", b, key, p)
	}
	return nil
}

// ModelFile returns the local file of a finished run's model artifact.
// In a local store it is the run's own file (its loader checks the
// SHA-256). In a remote store it is the content-addressed cache's copy,
// fetched from the bucket if needed and checked against the SHA-256 the
// run recorded before it is returned: a tampered artifact is an
// ArtifactError, and is not cached.
func (s *Store) ModelFile(ctx context.Context, r *Run) (string, error) {
	if !slices.ContainsFunc(r.Artifacts, func(a Artifact) bool { return a.Path == ModelArtifact }) {
		return "", fmt.Errorf("run %s has no model artifact", r.ID)
	}
	return s.ArtifactFile(ctx, r, ModelArtifact)
}

// ArtifactFile returns the local file of one of a run's recorded
// artifacts (p as recorded: artifacts/...), as ModelFile does for the
// model: in a remote store fetched into the content-addressed cache and
// checked against its SHA-256 first.
func (s *Store) ArtifactFile(ctx context.Context, r *Run, p string) (string, error) {
	var art *Artifact
	for i := range r.Artifacts {
		if r.Artifacts[i].Path == p {
			art = &r.Artifacts[i]
		}
	}
	if art == nil {
		return "", fmt.Errorf("%w: run %s has no artifact %s", fs.ErrNotExist, r.ID, p)
	}
	local := filepath.Join(r.Dir(), filepath.FromSlash(art.Path))
	if s.Remote == nil {
		return local, nil
	}
	if len(art.SHA256) != 64 || strings.Trim(art.SHA256, "0123456789abcdef") != "" {
		return "", fmt.Errorf("run %s records no proper sha256 for %s", r.ID, art.Path)
	}
	cached := filepath.Join(s.Remote.Cache, "sha256", art.SHA256[:2], art.SHA256[2:])
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	// The run was trained here: its own file, checked, saves a download.
	src := local
	if _, err := os.Stat(local); err != nil {
		rel, _ := filepath.Rel(s.Dir, local)
		if err := os.MkdirAll(s.Remote.Cache, 0o755); err != nil {
			return "", err
		}
		// A name of its own: processes sharing the cache may fetch the
		// same artifact at once.
		tmp := filepath.Join(s.Remote.Cache, fmt.Sprintf(".download-%s-%d-%d", art.SHA256[:16], os.Getpid(), time.Now().UnixNano()))
		if err := s.Remote.B.GetFile(ctx, filepath.ToSlash(rel), tmp, "", 4); err != nil {
			return "", err
		}
		defer os.Remove(tmp)
		src = tmp
	}
	got, err := FileSHA256(src)
	if err != nil {
		return "", err
	}
	if got != art.SHA256 {
		return "", &ArtifactError{Path: s.Remote.B.String() + "/" + filepath.ToSlash(filepath.Join(r.Experiment, r.ID, art.Path)), Got: got, Want: art.SHA256, Run: r.ID}
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return "", err
	}
	if err := os.Link(src, cached); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	return cached, nil
}

// FileSHA256 is the hex SHA-256 of a file's bytes, read as a stream.
func FileSHA256(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ModelArtifact is the path of a run's model file.
const ModelArtifact = "artifacts/model.bin"
