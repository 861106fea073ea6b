package tracking

import (
	"context"
	"crypto/md5" //nolint:gosec // S3's ETag of a whole-object upload is its MD5
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

	"golang.org/x/sync/errgroup"

	"github.com/housectl/housectl/pkg/bucket"
)

// SyncResult says what a push or pull of the experiments directory did.
type SyncResult struct {
	URL       string   `json:"url"`
	Copied    int      `json:"copied"`    // files copied
	Same      int      `json:"same"`      // files both sides already held, equal
	Conflicts []string `json:"conflicts"` // files that differ: left alone
	Skipped   []string `json:"skipped"`   // runs still RUNNING: not final
	Requests  int64    `json:"requests"`  // requests sent to the bucket
}

// headFile is the registry's one mutable object per model (format 2).
const headFile = "aliases.json"

// syncable lists the files of an experiments directory that belong on
// object storage: every file of every finished run (experiments/<exp>/
// <run>/...) and of the registry (experiments/models/...), keyed by
// their slash-separated path below the directory. Temporary files and
// locks (names starting with '.'), the prediction log and other top-level
// files stay local. Runs not finished are returned apart.
func syncable(dir string) (files []string, running []string, err error) {
	exps, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	walk := func(root string) error {
		return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(e.Name(), ".") {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if e.Type().IsRegular() {
				rel, _ := filepath.Rel(dir, p)
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
	}
	for _, x := range exps {
		if !x.IsDir() || strings.HasPrefix(x.Name(), ".") {
			continue
		}
		if x.Name() == RegistryDir {
			if err := walk(filepath.Join(dir, x.Name())); err != nil {
				return nil, nil, err
			}
			continue
		}
		runs, err := os.ReadDir(filepath.Join(dir, x.Name()))
		if err != nil {
			return nil, nil, err
		}
		for _, rd := range runs {
			rdir := filepath.Join(dir, x.Name(), rd.Name())
			if !rd.IsDir() || strings.HasPrefix(rd.Name(), ".") {
				continue
			}
			r, err := Load(rdir)
			if err != nil {
				return nil, nil, err
			}
			if r.EndTime == nil {
				running = append(running, x.Name()+"/"+rd.Name())
				continue
			}
			if err := walk(rdir); err != nil {
				return nil, nil, err
			}
		}
	}
	return files, running, nil
}

// phase orders a sync so that a reader never sees a run or a model
// before its parts: artifacts and versions first, then each run's
// run.json, then the registry's heads.
func phase(key string) int {
	switch path.Base(key) {
	case RunFile:
		return 1
	case headFile:
		return 2
	}
	return 0
}

func fileMD5(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := md5.New() //nolint:gosec // see the import
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// outcome is what a sync did with one file.
type outcome int

const (
	conflict outcome = iota // the two sides differ: left alone
	same                    // the two sides are equal
	copied
)

// compare compares a local file with an object of a listing: by MD5
// when the ETag is one (a whole-object upload), by size otherwise.
func compare(local string, o bucket.Object) (outcome, error) {
	st, err := os.Stat(local)
	if err != nil {
		return conflict, err
	}
	if st.Size() != o.Size {
		return conflict, nil
	}
	if strings.Contains(o.ETag, "-") { // a multipart upload's ETag is not an MD5
		return same, nil
	}
	sum, err := fileMD5(local)
	if err != nil || sum != o.ETag {
		return conflict, err
	}
	return same, nil
}

// PushTree copies the runs and registry of the experiments directory dir
// into the bucket, under the same paths, so that a team can start local
// and move to shared storage. Every file is created once (If-None-Match:
// *): a file the bucket holds equal is counted the same, one it holds
// different is a conflict and is left as it is. Each phase completes
// before the next (see phase).
func PushTree(ctx context.Context, dir string, b *bucket.Bucket, jobs int) (*SyncResult, error) {
	res := &SyncResult{URL: b.String()}
	start := b.Requests()
	defer func() { res.Requests = b.Requests() - start }()
	files, running, err := syncable(dir)
	if err != nil {
		return res, err
	}
	res.Skipped = running
	remote := map[string]bucket.Object{}
	for o, err := range b.List(ctx, "") {
		if err != nil {
			return res, err
		}
		remote[o.Name] = o
	}
	return res, syncPhases(ctx, files, jobs, res, func(key string) (outcome, error) {
		local := filepath.Join(dir, filepath.FromSlash(key))
		if o, ok := remote[key]; ok {
			return compare(local, o)
		}
		if st, err := os.Stat(local); err != nil {
			return conflict, err
		} else if st.Size() >= bucket.MultipartThreshold {
			// A large artifact goes up in parts (not conditional: the
			// listing said it was absent a moment ago).
			sum, err := fileMD5(local)
			if err != nil {
				return conflict, err
			}
			return copied, b.PutFile(ctx, key, local, sum, 4)
		}
		data, err := os.ReadFile(local)
		if err != nil {
			return conflict, err
		}
		_, err = b.Put(ctx, key, data, bucket.Cond{IfAbsent: true})
		if errors.Is(err, bucket.ErrPrecondition) { // written meanwhile by someone else
			return conflict, nil
		}
		return copied, err
	})
}

// PullTree copies the runs and registry of the bucket into the
// experiments directory dir: the reverse of PushTree. A file dir holds
// equal is the same; one it holds different is a conflict, left as it is.
func PullTree(ctx context.Context, b *bucket.Bucket, dir string, jobs int) (*SyncResult, error) {
	res := &SyncResult{URL: b.String()}
	start := b.Requests()
	defer func() { res.Requests = b.Requests() - start }()
	remote := map[string]bucket.Object{}
	var keys []string
	for o, err := range b.List(ctx, "") {
		if err != nil {
			return res, err
		}
		if checkSyncKey(o.Name) != nil {
			continue
		}
		remote[o.Name] = o
		keys = append(keys, o.Name)
	}
	return res, syncPhases(ctx, keys, jobs, res, func(key string) (outcome, error) {
		local := filepath.Join(dir, filepath.FromSlash(key))
		o := remote[key]
		if _, err := os.Stat(local); err == nil {
			return compare(local, o)
		}
		want := o.ETag
		if strings.Contains(want, "-") {
			want = ""
		}
		if err := b.GetFile(ctx, key, local, want, 4); err != nil {
			return conflict, err
		}
		if strings.Contains(key, "/artifacts/") {
			return copied, nil // artifacts are read-only, as train writes them
		}
		return copied, os.Chmod(local, 0o644)
	})
}

// checkSyncKey refuses a key that would leave the directory or name a
// temporary file.
func checkSyncKey(key string) error {
	if !fs.ValidPath(key) || slices.ContainsFunc(strings.Split(key, "/"), func(s string) bool { return strings.HasPrefix(s, ".") }) {
		return fmt.Errorf("%q is not a path of an experiments directory", key)
	}
	return nil
}

// unit is the run (exp/run/) or the model (models/name/) a key belongs
// to: what a later phase's file commits.
func unit(key string) string {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 3 {
		return key
	}
	return parts[0] + "/" + parts[1] + "/"
}

// syncPhases runs sync for every key, phase by phase, in parallel within
// a phase, and tallies the outcomes. A run or a model with a conflict in
// one phase gets nothing of the later ones: its run.json or its head
// would commit parts that are not the ones it names (another registry's
// versions, say), so they are reported as conflicts too, unwritten.
func syncPhases(ctx context.Context, keys []string, jobs int, res *SyncResult, sync func(key string) (outcome, error)) error {
	blocked := map[string]bool{}
	for ph := range 3 {
		var these []string
		for _, k := range keys {
			if phase(k) != ph {
				continue
			}
			if blocked[unit(k)] {
				res.Conflicts = append(res.Conflicts, k)
				continue
			}
			these = append(these, k)
		}
		outcomes := make([]outcome, len(these))
		g, _ := errgroup.WithContext(ctx)
		g.SetLimit(max(jobs, 1))
		for i, k := range these {
			g.Go(func() error {
				o, err := sync(k)
				if err != nil {
					return fmt.Errorf("%s: %w", k, err)
				}
				outcomes[i] = o
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for i, k := range these {
			switch outcomes[i] {
			case copied:
				res.Copied++
			case same:
				res.Same++
			default:
				res.Conflicts = append(res.Conflicts, k)
				blocked[unit(k)] = true
			}
		}
	}
	return nil
}
