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
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Remote is a store with the cache's layout that objects are pushed to and
// pulled from: DVC 3 objects under files/md5/, DVC 2 ones at the root
// (Object.Key). LocalRemote is a directory, S3Remote a bucket.
type Remote interface {
	// Name is the remote's name in .dvc/config.
	Name() string
	// Has reports whether the object is stored.
	Has(ctx context.Context, o Object) (bool, error)
	// Put uploads the local file src as o. It must verify that src hashes
	// to o's id and store the object atomically.
	Put(ctx context.Context, o Object, src string) error
	// Get downloads o into the local path dst atomically, verifying it.
	Get(ctx context.Context, o Object, dst string) error
}

// Inventory is a remote that can list what it holds: Push and cloud
// status ask it once, a few listing pages, rather than once per object,
// when there are many objects to check.
type Inventory interface {
	Inventory(ctx context.Context, legacy bool) (map[Object]bool, error)
}

// ErrNoRemote is returned when no remote is named and none is the default.
var ErrNoRemote = errors.New("no remote provided and no default remote set")

// Remote returns the named remote, or the default (core.remote) when name
// is empty, from the merged configuration.
func (r *Repo) Remote(name string) (Remote, error) {
	cfg, err := r.Config()
	if err != nil {
		return nil, err
	}
	if name == "" {
		if name, _, err = cfg.Lookup("core", "remote"); err != nil {
			return nil, err
		}
		if name == "" {
			return nil, fmt.Errorf("%w: run `housectl data remote add -d NAME URL`, or pass --remote", ErrNoRemote)
		}
	}
	if !cfg.HasSection(RemoteSection(name)) {
		return nil, fmt.Errorf("remote %q is not configured; the configured remotes are %q (housectl data remote list)", name, cfg.Remotes())
	}
	url, f, err := cfg.Lookup(RemoteSection(name), "url")
	if err != nil {
		return nil, err
	}
	switch {
	case url == "":
		return nil, fmt.Errorf("remote %q has no url: run `housectl data remote modify %s url URL`", name, name)
	case strings.HasPrefix(url, "s3://"):
		// Loading the AWS configuration reads files only: no request.
		return openS3Remote(context.Background(), cfg, name, url)
	case strings.Contains(url, "://") && !strings.HasPrefix(url, "file://"):
		scheme, _, _ := strings.Cut(url, "://")
		return nil, fmt.Errorf("remote %q: %s:// remotes are not supported: use s3:// (any S3-compatible storage) or a local directory", name, scheme)
	}
	dir := strings.TrimPrefix(url, "file://")
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(f.Path), dir) // as DVC: relative to the file that says it
	}
	return &LocalRemote{name: strings.ToLower(name), Dir: dir}, nil
}

// RemoteOptions are the options `dvc remote modify` accepts, by URL scheme
// (dvc/config_schema.py), with their kinds: "str", "int" (at least 1),
// "bool" (true or false), "num" (a number of seconds, at least 0).
var RemoteOptions = map[string]map[string]string{
	"local": {"url": "str", "checksum_jobs": "int", "jobs": "int", "worktree": "bool", "no_traverse": "bool",
		"version_aware": "bool", "type": "str", "protected": "bool", "shared": "str", "slow_link_warning": "bool", "verify": "bool"},
	"s3": {"url": "str", "checksum_jobs": "int", "jobs": "int", "worktree": "bool", "no_traverse": "bool", "version_aware": "bool",
		"region": "str", "profile": "str", "credentialpath": "str", "configpath": "str", "endpointurl": "str",
		"access_key_id": "str", "secret_access_key": "str", "session_token": "str", "listobjects": "bool", "use_ssl": "bool",
		"allow_anonymous_login": "bool", "ssl_verify": "str", "sse": "str", "sse_kms_key_id": "str", "sse_customer_algorithm": "str",
		"sse_customer_key": "str", "acl": "str", "grant_read": "str", "grant_read_acp": "str", "grant_write_acp": "str",
		"grant_full_control": "str", "cache_regions": "bool", "read_timeout": "num", "connect_timeout": "num", "verify": "bool"},
}

// remoteScheme is the option table's key for a URL.
func remoteScheme(url string) string {
	if scheme, _, ok := strings.Cut(url, "://"); ok && scheme != "file" {
		return strings.ToLower(scheme)
	}
	return "local"
}

// checkRemoteOption refuses an option or value DVC's schema refuses, with
// the options it would take.
func checkRemoteOption(name, url, option, value string) error {
	scheme := remoteScheme(url)
	opts, ok := RemoteOptions[scheme]
	if !ok {
		return fmt.Errorf("remote %q: %s:// remotes are not supported", name, scheme)
	}
	kind, ok := opts[option]
	if !ok {
		names := make([]string, 0, len(opts))
		for k := range opts {
			names = append(names, k)
		}
		slices.Sort(names)
		return fmt.Errorf("remote %q: %s is not an option of a %s remote (DVC: extra keys not allowed); the options are %s", name, option, scheme, strings.Join(names, ", "))
	}
	switch kind {
	case "int":
		if n, err := strconv.Atoi(value); err != nil || n < 1 {
			return fmt.Errorf("remote %q: %s must be a whole number of at least 1, got %q", name, option, value)
		}
	case "num":
		if f, err := strconv.ParseFloat(value, 64); err != nil || f < 0 {
			return fmt.Errorf("remote %q: %s must be a number of seconds of at least 0, got %q", name, option, value)
		}
	case "bool":
		if v := strings.ToLower(value); v != "true" && v != "false" {
			return fmt.Errorf("remote %q: %s must be true or false, got %q", name, option, value)
		}
	}
	return nil
}

// relativeURL stores a local path as DVC does: relative to the directory
// of the file it goes in, unless absolute.
func relativeURL(url, fileDir string) (string, error) {
	if strings.Contains(url, "://") || filepath.IsAbs(url) {
		return url, nil
	}
	abs, err := filepath.Abs(url)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(fileDir, abs)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// checkRemoteName refuses a name that cannot be a section name.
func checkRemoteName(name string) error {
	if name == "" || strings.ContainsAny(name, "\"'[]\n\r#") {
		return fmt.Errorf("remote name %q: use letters, digits, - and _", name)
	}
	return nil
}

// AddRemote records a remote in a level's file (LevelRepo: .dvc/config),
// and makes it the default there when asked. A relative local path is
// stored relative to the file's directory, as DVC does.
func (r *Repo) AddRemote(level ConfigLevel, name, url string, makeDefault, force bool) error {
	if err := checkRemoteName(name); err != nil {
		return err
	}
	cfg, err := r.Config()
	if err != nil {
		return err
	}
	f := cfg.File(level)
	if f.HasSection(RemoteSection(name)) && !force {
		return fmt.Errorf("remote %q already exists in %s; use --force to replace its url", name, f.Path)
	}
	if err := checkRemoteOption(name, url, "url", url); err != nil {
		return err
	}
	if url, err = relativeURL(url, filepath.Dir(f.Path)); err != nil {
		return err
	}
	if err := f.Set(RemoteSection(name), "url", url); err != nil {
		return err
	}
	if makeDefault {
		if err := f.Set("core", "remote", strings.ToLower(name)); err != nil {
			return err
		}
	}
	return f.Save()
}

// ModifyRemote sets (or, with unset, removes) one option of a remote in a
// level's file, as `dvc remote modify` does: the remote must exist at that
// level or one it shadows, the option must be one DVC takes for the
// remote's kind, and the remote must keep a url.
func (r *Repo) ModifyRemote(level ConfigLevel, name, option, value string, unset bool) error {
	cfg, err := r.Config()
	if err != nil {
		return err
	}
	option = strings.ToLower(option)
	exists := false
	for _, f := range cfg.Files {
		if f.HasSection(RemoteSection(name)) {
			exists = true
		}
		if f.Level == level {
			break
		}
	}
	if !exists {
		return fmt.Errorf("remote %q does not exist at the %s level or those it shadows; the configured remotes are %q", name, level, cfg.Remotes())
	}
	f := cfg.File(level)
	if unset {
		f.Unset(RemoteSection(name), option)
		if url, _, _ := (&Config{Files: upTo(cfg, level)}).Lookup(RemoteSection(name), "url"); url == "" {
			return fmt.Errorf("remote %q would have no url (DVC: expected 'url' for dictionary value); set another one instead", name)
		}
		return f.Save()
	}
	url := cfg.Get(RemoteSection(name), "url")
	if option == "url" {
		url = value
	}
	if err := checkRemoteOption(name, url, option, value); err != nil {
		return err
	}
	if option == "url" {
		if value, err = relativeURL(value, filepath.Dir(f.Path)); err != nil {
			return err
		}
	}
	if err := f.Set(RemoteSection(name), option, value); err != nil {
		return err
	}
	return f.Save()
}

// upTo returns the files of the levels up to and including level.
func upTo(cfg *Config, level ConfigLevel) []*ConfigFile {
	var out []*ConfigFile
	for _, f := range cfg.Files {
		out = append(out, f)
		if f.Level == level {
			break
		}
	}
	return out
}

// RemoveRemote removes a remote from a level's file, and core.remote where
// it names the remote in that level and the ones that shadow it, as `dvc
// remote remove` does.
func (r *Repo) RemoveRemote(level ConfigLevel, name string) error {
	cfg, err := r.Config()
	if err != nil {
		return err
	}
	f := cfg.File(level)
	if !f.RemoveSection(RemoteSection(name)) {
		return fmt.Errorf("remote %q is not in %s (the %s level); the configured remotes are %q", name, f.Path, level, cfg.Remotes())
	}
	if err := f.Save(); err != nil {
		return err
	}
	for i := len(cfg.Files) - 1; i >= 0; i-- {
		g := cfg.Files[i]
		if def, ok, _ := g.Lookup("core", "remote"); ok && strings.EqualFold(def, name) {
			g.Unset("core", "remote")
			if err := g.Save(); err != nil {
				return err
			}
		}
		if g.Level == level {
			break
		}
	}
	return nil
}

// SetDefaultRemote sets (or with name "", unsets) core.remote in a level's
// file, as `dvc remote default` does.
func (r *Repo) SetDefaultRemote(level ConfigLevel, name string) error {
	cfg, err := r.Config()
	if err != nil {
		return err
	}
	f := cfg.File(level)
	if name == "" {
		f.Unset("core", "remote")
		return f.Save()
	}
	if !cfg.HasSection(RemoteSection(name)) {
		return fmt.Errorf("remote %q is not configured; the configured remotes are %q", name, cfg.Remotes())
	}
	if err := f.Set("core", "remote", strings.ToLower(name)); err != nil {
		return err
	}
	return f.Save()
}

// LocalRemote is a remote in a local (or mounted) directory, in the layout
// DVC uses on every remote: <dir>/files/md5/<2>/<30>, and <dir>/<2>/<30>
// for DVC 2 objects.
type LocalRemote struct {
	name string
	Dir  string
}

// Name implements Remote.
func (l *LocalRemote) Name() string { return l.name }

func (l *LocalRemote) path(o Object) string { return filepath.Join(l.Dir, filepath.FromSlash(o.Key())) }

// Has implements Remote.
func (l *LocalRemote) Has(_ context.Context, o Object) (bool, error) {
	_, err := os.Stat(l.path(o))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Put implements Remote.
func (l *LocalRemote) Put(_ context.Context, o Object, src string) error {
	return putVerified(src, l.path(o), o)
}

// Get implements Remote.
func (l *LocalRemote) Get(_ context.Context, o Object, dst string) error {
	return putVerified(l.path(o), dst, o)
}

// putVerified copies an object, refusing one whose content is not its id.
// A DVC 2 file's id is of its dos2unix-converted bytes: it is checked
// before the copy.
func putVerified(src, dst string, o Object) error {
	id := o.ID
	if o.Legacy && !id.IsDir() {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		got, _, err := HashLegacyReader(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("hash %s: %w", src, err)
		}
		if got != id {
			return &CorruptError{ID: id, Path: src, Got: got}
		}
		_, err = copyVerified(src, dst, 0o444)
		return err
	}
	want := id
	if id.IsDir() {
		want = ID(id.Hex())
	}
	got, err := copyVerified(src, dst, 0o444, want)
	if err != nil {
		return err
	}
	if got != want {
		if id.IsDir() {
			got += DirSuffix
		}
		return &CorruptError{ID: id, Path: src, Got: got}
	}
	return nil
}

// Counter is progress over a number of objects.
type Counter interface {
	Add(n int)
	Finish()
}

// TransferOptions configure Push and Pull.
type TransferOptions struct {
	// Jobs is how many objects move at once; 0 means 4 per CPU, as DVC.
	Jobs int
	// Progress, when set, is called once with the number of objects to move.
	Progress func(total int) Counter
	LockWait time.Duration
}

func (o TransferOptions) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return 4 * runtime.NumCPU()
}

// TransferResult says what Push or Pull did.
type TransferResult struct {
	Remote      string   `json:"remote"`
	Transferred int      `json:"transferred"`
	UpToDate    int      `json:"up_to_date"`
	Missing     []string `json:"missing,omitempty"` // objects in neither place
	Changes     []Change `json:"changes,omitempty"` // Pull's checkout
	// Requests is how many requests an object-storage remote was sent.
	Requests int64 `json:"requests,omitempty"`
}

// requests is how many requests rem has been sent, when it counts them
// (an object-storage remote does).
func requests(rem Remote) int64 {
	if rc, ok := rem.(interface{ Requests() int64 }); ok {
		return rc.Requests()
	}
	return 0
}

// objects lists the objects an output needs: the output's own and, for a
// directory, its files'. manifest loads a manifest (from the cache, or by
// fetching it first).
func objects(t Tracked, manifest func(Object) (Manifest, error)) ([]Object, error) {
	legacy := t.Out.Legacy()
	objs := []Object{{t.Out.MD5, legacy}}
	if !t.Out.MD5.IsDir() {
		return objs, nil
	}
	m, err := manifest(objs[0])
	if err != nil {
		return nil, err
	}
	for _, e := range m {
		objs = append(objs, Object{e.MD5, legacy})
	}
	return objs, nil
}

// Push uploads the objects of the tracked outputs (all, or the targets)
// that the remote lacks, in parallel. DVC 2 outputs go to the legacy
// layout, as DVC 3 pushes them.
func (r *Repo) Push(ctx context.Context, rem Remote, targets []string, opts TransferOptions) (res *TransferResult, err error) {
	start := requests(rem)
	defer func() {
		if res != nil {
			res.Requests = requests(rem) - start
		}
	}()
	tracked, err := r.Tracked(targets)
	if err != nil {
		return nil, err
	}
	res = &TransferResult{Remote: rem.Name()}
	seen := map[Object]bool{}
	var want []Object
	cached := func(o Object) (Manifest, error) { return r.Cache.ReadManifest(o.ID, o.Legacy) }
	for _, t := range tracked {
		objs, err := objects(t, cached)
		if errors.Is(err, fs.ErrNotExist) {
			res.Missing = append(res.Missing, t.Out.MD5.String())
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if !seen[o] {
				seen[o] = true
				if r.Cache.Has(o.ID, o.Legacy) {
					want = append(want, o)
				} else {
					res.Missing = append(res.Missing, o.ID.String())
				}
			}
		}
	}
	todo, err := missingFrom(ctx, rem, want, opts.jobs())
	if err != nil {
		return nil, err
	}
	res.UpToDate = len(want) - len(todo)
	n, err := transfer(ctx, todo, opts, func(o Object) (bool, error) { return true, rem.Put(ctx, o, r.Cache.ObjectPath(o)) })
	res.Transferred = n
	if err == nil && n > 0 {
		if l, ok := rem.(*LocalRemote); ok {
			err = SyncFS(l.Dir)
		}
	}
	return res, err
}

// Pull downloads the objects the cache lacks, then checks the outputs out.
func (r *Repo) Pull(ctx context.Context, rem Remote, targets []string, opts TransferOptions, co CheckoutOptions) (res *TransferResult, err error) {
	start := requests(rem)
	defer func() {
		if res != nil {
			res.Requests = requests(rem) - start
		}
	}()
	unlock, err := r.Lock(ctx, opts.LockWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	tracked, err := r.Tracked(targets)
	if err != nil {
		return nil, err
	}
	res = &TransferResult{Remote: rem.Name()}
	// Directory manifests first: they name the rest.
	manifest := func(o Object) (Manifest, error) {
		if !r.Cache.Has(o.ID, o.Legacy) {
			err := rem.Get(ctx, o, r.Cache.ObjectPath(o))
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s is in neither the cache nor remote %q", fs.ErrNotExist, o.ID, rem.Name())
			}
			if err != nil {
				return nil, err
			}
			res.Transferred++
		}
		return r.Cache.ReadManifest(o.ID, o.Legacy)
	}
	seen := map[Object]bool{}
	var need []Object
	for _, t := range tracked {
		objs, err := objects(t, manifest)
		if errors.Is(err, fs.ErrNotExist) {
			res.Missing = append(res.Missing, t.Out.MD5.String())
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if !seen[o] && !r.Cache.Has(o.ID, o.Legacy) {
				seen[o] = true
				need = append(need, o)
			}
		}
	}
	n, err := transfer(ctx, need, opts, func(o Object) (bool, error) {
		err := rem.Get(ctx, o, r.Cache.ObjectPath(o))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil // a missing object is reported below
		}
		return err == nil, err
	})
	res.Transferred += n
	if err == nil && n > 0 {
		err = SyncFS(r.Cache.Dir)
	}
	if err != nil {
		return res, err
	}
	for _, o := range need {
		if !r.Cache.Has(o.ID, o.Legacy) {
			res.Missing = append(res.Missing, o.ID.String())
		}
	}
	res.Changes, err = r.checkout(ctx, targets, co)
	return res, err
}

// inventoryFrom is how many objects make a listing of the remote cheaper
// than a HEAD request for each.
const inventoryFrom = 32

// missingFrom returns the objects the remote lacks: from one listing of
// the remote when it can list and there are many, by a request per
// object, in parallel, otherwise.
func missingFrom(ctx context.Context, rem Remote, want []Object, jobs int) ([]Object, error) {
	inv, ok := rem.(Inventory)
	if !ok || len(want) <= inventoryFrom {
		return missingOn(ctx, want, jobs, func(o Object) (bool, error) { return rem.Has(ctx, o) })
	}
	held := map[bool]map[Object]bool{}
	var out []Object
	for _, o := range want {
		set, ok := held[o.Legacy]
		if !ok {
			var err error
			if set, err = inv.Inventory(ctx, o.Legacy); err != nil {
				return nil, err
			}
			held[o.Legacy] = set
		}
		if !set[o] {
			out = append(out, o)
		}
	}
	return out, nil
}

// missingOn returns the objects for which has reports false, checked in
// parallel.
func missingOn(ctx context.Context, ids []Object, jobs int, has func(Object) (bool, error)) ([]Object, error) {
	present := make([]bool, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	for i, id := range ids {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			ok, err := has(id)
			present[i] = ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []Object
	for i, id := range ids {
		if !present[i] {
			out = append(out, id)
		}
	}
	return out, nil
}

// transfer runs move for every object, in parallel, with progress, and
// counts the objects that move reports as moved.
func transfer(ctx context.Context, ids []Object, opts TransferOptions, move func(Object) (bool, error)) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var c Counter = nopCounter{}
	if opts.Progress != nil {
		c = opts.Progress(len(ids))
	}
	defer c.Finish()
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.jobs())
	for _, id := range ids {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			moved, err := move(id)
			if err != nil {
				return err
			}
			if moved {
				done.Add(1)
			}
			c.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(done.Load()), err
}

type nopCounter struct{}

func (nopCounter) Add(int) {}
func (nopCounter) Finish() {}

// Cloud statuses, as `dvc status -c` names them.
const (
	CloudNew     = "new"     // in the cache, not on the remote: push it
	CloudDeleted = "deleted" // on the remote, not in the cache: pull it
	CloudMissing = "missing" // in neither
)

// CloudEntry is one object that differs between the cache and a remote:
// an output's path, or a file's inside a directory output.
type CloudEntry struct {
	Name   string
	Status string
}

// CloudStatus compares the cache with a remote for the tracked outputs
// (all, or the targets), as `dvc status -c` does: the objects that are
// new (to push), deleted (to pull) or missing, grouped in that order
// (deleted, new, missing) and sorted by name in each group. In sync, it
// is empty. A directory's manifest missing from the cache is read from
// the remote.
func (r *Repo) CloudStatus(ctx context.Context, rem Remote, targets []string, jobs int) ([]CloudEntry, error) {
	tracked, err := r.Tracked(targets)
	if err != nil {
		return nil, err
	}
	type named struct {
		o    Object
		name string
	}
	var all []named
	var objs []Object
	seen := map[Object]bool{}
	add := func(o Object, name string) {
		all = append(all, named{o, name})
		if !seen[o] {
			seen[o] = true
			objs = append(objs, o)
		}
	}
	for _, t := range tracked {
		top := Object{t.Out.MD5, t.Out.Legacy()}
		add(top, t.Rel(r))
		if !top.ID.IsDir() {
			continue
		}
		m, err := r.Cache.ReadManifest(top.ID, top.Legacy)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(r.Cache.Dir, 0o755); err != nil {
				return nil, err
			}
			tmp, terr := os.MkdirTemp(r.Cache.Dir, ".manifest-*")
			if terr != nil {
				return nil, terr
			}
			p := filepath.Join(tmp, "m")
			if gerr := rem.Get(ctx, top, p); gerr == nil {
				var b []byte
				if b, err = os.ReadFile(p); err == nil {
					m, err = DecodeManifest(b) // Get checked it against its id
				}
			} else if !errors.Is(gerr, fs.ErrNotExist) {
				err = gerr
			}
			os.RemoveAll(tmp)
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue // the directory's files cannot be named: only it is reported
		}
		if err != nil {
			return nil, err
		}
		for _, e := range m {
			add(Object{e.MD5, top.Legacy}, t.Rel(r)+"/"+e.RelPath)
		}
	}
	missing, err := missingFrom(ctx, rem, objs, max(jobs, 4))
	if err != nil {
		return nil, err
	}
	remote := map[Object]bool{}
	for _, o := range objs {
		remote[o] = true
	}
	for _, o := range missing {
		remote[o] = false
	}
	var out []CloudEntry
	for _, n := range all {
		cached := r.Cache.Has(n.o.ID, n.o.Legacy)
		switch {
		case cached && !remote[n.o]:
			out = append(out, CloudEntry{n.name, CloudNew})
		case !cached && remote[n.o]:
			out = append(out, CloudEntry{n.name, CloudDeleted})
		case !cached:
			out = append(out, CloudEntry{n.name, CloudMissing})
		}
	}
	order := map[string]int{CloudDeleted: 0, CloudNew: 1, CloudMissing: 2}
	slices.SortStableFunc(out, func(a, b CloudEntry) int {
		if c := order[a.Status] - order[b.Status]; c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return slices.CompactFunc(out, func(a, b CloudEntry) bool { return a == b }), nil
}
