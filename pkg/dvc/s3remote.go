package dvc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/housectl/housectl/pkg/bucket"
)

// S3Remote is a remote on S3-compatible object storage, in DVC 3's
// layout under its prefix (files/md5/<2>/<30>; DVC 2 objects at
// <2>/<30>), so that DVC reads what housectl pushes and the reverse.
type S3Remote struct {
	name string
	B    *bucket.Bucket
	jobs int
}

// openS3Remote makes the remote from its URL and its options in the
// merged configuration (DVC's names: endpointurl, region, profile,
// access_key_id, secret_access_key, session_token, credentialpath,
// configpath, jobs); what they leave out comes from the AWS chain.
func openS3Remote(ctx context.Context, cfg *Config, name, url string) (*S3Remote, error) {
	sec := RemoteSection(name)
	get := func(key string) string {
		v, _, _ := cfg.Lookup(sec, key)
		return v
	}
	// Options that change what is stored or who may read it are not
	// implemented: refused, rather than silently not applied.
	for _, opt := range []string{"sse", "sse_kms_key_id", "sse_customer_algorithm", "sse_customer_key", "acl",
		"grant_read", "grant_read_acp", "grant_write_acp", "grant_full_control", "version_aware", "worktree", "allow_anonymous_login"} {
		if get(opt) != "" {
			return nil, fmt.Errorf("remote %q: option %s is not supported by housectl: remove it (housectl data remote modify --unset %s %s), or use dvc with this remote", name, opt, name, opt)
		}
	}
	jobs := 0
	if j := get("jobs"); j != "" {
		jobs, _ = strconv.Atoi(j)
	}
	seconds := func(key string) time.Duration {
		f, _ := strconv.ParseFloat(get(key), 64)
		return time.Duration(f * float64(time.Second))
	}
	o := bucket.Options{
		EndpointURL: get("endpointurl"), Region: get("region"), Profile: get("profile"),
		AccessKeyID: get("access_key_id"), SecretAccessKey: get("secret_access_key"), SessionToken: get("session_token"),
		CredentialsFile: get("credentialpath"), ConfigFile: get("configpath"), Jobs: jobs,
		SSLVerify: get("ssl_verify"), ConnectTimeout: seconds("connect_timeout"), ReadTimeout: seconds("read_timeout"),
	}
	if strings.EqualFold(get("use_ssl"), "false") && o.EndpointURL != "" && !strings.Contains(o.EndpointURL, "://") {
		o.EndpointURL = "http://" + o.EndpointURL
	}
	b, err := bucket.Open(ctx, url, o)
	if err != nil {
		return nil, fmt.Errorf("remote %q: %w", name, err)
	}
	return &S3Remote{name: strings.ToLower(name), B: b, jobs: jobs}, nil
}

// Name implements Remote.
func (r *S3Remote) Name() string { return r.name }

// Requests is how many requests the remote has been sent.
func (r *S3Remote) Requests() int64 { return r.B.Requests() }

// Has implements Remote (a HEAD request).
func (r *S3Remote) Has(ctx context.Context, o Object) (bool, error) { return r.B.Has(ctx, o.Key()) }

// Put implements Remote: the object goes up only if the file's content
// is its id, in one request or, when large, in parallel parts.
func (r *S3Remote) Put(ctx context.Context, o Object, src string) error {
	want := o.ID.Hex()
	if o.Legacy && !o.ID.IsDir() { // DVC 2: the id is of the dos2unix bytes
		if err := checkLegacy(src, o.ID); err != nil {
			return err
		}
		want = ""
	}
	err := r.B.PutFile(ctx, o.Key(), src, want, r.transferJobs())
	if me, ok := errors.AsType[*bucket.MismatchError](err); ok {
		return &CorruptError{ID: o.ID, Path: src, Got: ID(me.Got)}
	}
	return err
}

// Get implements Remote: the download is checked against the id before
// it is renamed into dst.
func (r *S3Remote) Get(ctx context.Context, o Object, dst string) error {
	want := o.ID.Hex()
	legacy := o.Legacy && !o.ID.IsDir()
	if legacy {
		want = ""
	}
	target := dst
	if legacy {
		target = dst + ".legacy"
		defer os.Remove(target)
	}
	if err := r.B.GetFile(ctx, o.Key(), target, want, r.transferJobs()); err != nil {
		if me, ok := errors.AsType[*bucket.MismatchError](err); ok {
			return &CorruptError{ID: o.ID, Path: me.Path, Got: ID(me.Got)}
		}
		return err
	}
	if legacy {
		if err := checkLegacy(target, o.ID); err != nil {
			return err
		}
		return os.Rename(target, dst)
	}
	return nil // GetFile's file is read-only, as the cache's are
}

// transferJobs is how many parts of one large file move at once.
func (r *S3Remote) transferJobs() int { return max(r.jobs, 4) }

// Inventory lists what the remote holds under DVC's layout, a page of
// 1,000 objects a request: one listing instead of a HEAD per object.
func (r *S3Remote) Inventory(ctx context.Context, legacy bool) (map[Object]bool, error) {
	out := map[Object]bool{}
	prefix := "files/md5/"
	if legacy {
		prefix = ""
	}
	for obj, err := range r.B.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		o, ok := objectOfKey(obj.Name, legacy)
		if ok {
			out[o] = true
		}
	}
	return out, nil
}

// objectOfKey is the object a remote key names, if it names one.
func objectOfKey(key string, legacy bool) (Object, bool) {
	if !legacy {
		var ok bool
		if key, ok = strings.CutPrefix(key, "files/md5/"); !ok {
			return Object{}, false
		}
	}
	two, rest, ok := strings.Cut(key, "/")
	if !ok || len(two) != 2 || strings.Contains(rest, "/") {
		return Object{}, false
	}
	id, err := ParseID(two + rest)
	if err != nil {
		return Object{}, false
	}
	return Object{ID: id, Legacy: legacy}, true
}

// checkLegacy verifies a DVC 2 file against its id.
func checkLegacy(path string, id ID) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	got, _, err := HashLegacyReader(f)
	if err != nil {
		return fmt.Errorf("hash %s: %w", filepath.Base(path), err)
	}
	if got != id {
		return &CorruptError{ID: id, Path: path, Got: got}
	}
	return nil
}
