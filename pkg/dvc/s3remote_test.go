package dvc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/s3test"
	"github.com/housectl/housectl/pkg/bucket"
)

// awkward are names that need care in a URL, a shell or YAML.
var awkward = []string{"with space.csv", "caf\u00e9 \u672c.txt", "hash#and%percent+plus.bin", "q?uery&amp=1", "quote'd \"x\".txt",
	"deep/er/still/deeper/file", "empty", "[brackets]{braces}", "tilde~and!bang"}

// TestS3RemoteRoundTrip pushes a tree with awkward names to a real S3
// server, checks the bucket holds DVC 3's layout, asks the cloud status,
// and pulls it into a fresh clone.
func TestS3RemoteRoundTrip(t *testing.T) {
	srv := s3test.Get(t)
	srv.Setenv(t)
	url := srv.Bucket(t) + "/team/dvcstore"
	r := newRepo(t)
	ctx := t.Context()
	for i, name := range awkward {
		content := fmt.Sprintf("content %d of %s\n", i, name)
		if name == "empty" {
			content = ""
		}
		write(t, r.abs("data/tree/"+name), content)
	}
	for i := range 60 { // enough objects for a listing rather than a HEAD each
		write(t, r.abs(fmt.Sprintf("data/tree/many/%02d.csv", i)), fmt.Sprintf("%d\n", i))
	}
	write(t, r.abs("model.bin"), strings.Repeat("m", 1000))
	if _, err := r.Add(ctx, []string{r.abs("data/tree"), r.abs("model.bin")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote(LevelRepo, "store", url, true, false); err != nil {
		t.Fatal(err)
	}
	// The endpoint in the project's config, as a team would commit it.
	if err := r.ModifyRemote(LevelRepo, "store", "endpointurl", srv.Endpoint, false); err != nil {
		t.Fatal(err)
	}
	rem, err := r.Remote("")
	if err != nil {
		t.Fatal(err)
	}
	s3r := rem.(*S3Remote)

	st, err := r.CloudStatus(ctx, rem, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2+len(awkward)+60 || st[0].Status != CloudNew {
		t.Fatalf("status before push: %d entries, first %+v", len(st), st[0])
	}
	res, err := r.Push(ctx, rem, nil, TransferOptions{})
	if err != nil || res.Transferred != 2+len(awkward)+60 {
		t.Fatalf("push: %+v %v", res, err)
	}
	// DVC 3's layout: files/md5/<2>/<30>, the manifest with .dir.
	var keys []string
	for o, err := range s3r.B.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, o.Name)
	}
	tracked, _ := r.Tracked([]string{r.abs("data/tree")})
	dirID := string(tracked[0].Out.MD5)
	if !slices.Contains(keys, "files/md5/"+dirID[:2]+"/"+dirID[2:]) || len(keys) != res.Transferred {
		t.Fatalf("bucket keys: %d, want %d with the manifest %s: %v", len(keys), res.Transferred, dirID, keys[:min(5, len(keys))])
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "files/md5/") || len(k) != len("files/md5/")+33 && !strings.HasSuffix(k, ".dir") {
			t.Errorf("key %q is not DVC 3's layout", k)
		}
	}
	if st, err := r.CloudStatus(ctx, rem, nil, 0); err != nil || len(st) != 0 {
		t.Fatalf("status after push: %+v %v", st, err)
	}
	// A no-op push lists the remote: a page per 1,000 objects, not a
	// request per object.
	before := s3r.B.Requests()
	res, err = r.Push(ctx, rem, nil, TransferOptions{})
	if err != nil || res.Transferred != 0 || res.UpToDate != 2+len(awkward)+60 {
		t.Fatalf("second push: %+v %v", res, err)
	}
	if n := s3r.B.Requests() - before; n > 2 {
		t.Errorf("a no-op push of %d objects made %d requests", res.UpToDate, n)
	}

	// A fresh clone pulls everything back.
	clone := t.TempDir()
	for _, f := range []string{".dvc/config", "data/tree.dvc", "model.bin.dvc"} {
		write(t, filepath.Join(clone, f), read(t, r.abs(f)))
	}
	c, err := Open(clone)
	if err != nil {
		t.Fatal(err)
	}
	crem, err := c.Remote("store")
	if err != nil {
		t.Fatal(err)
	}
	st, err = c.CloudStatus(ctx, crem, nil, 0)
	if err != nil || len(st) != 2+len(awkward)+60 || st[0].Status != CloudDeleted {
		t.Fatalf("clone's status: %d %v %v", len(st), st[:min(2, len(st))], err)
	}
	res, err = c.Pull(ctx, crem, nil, TransferOptions{}, CheckoutOptions{})
	if err != nil || res.Transferred != 2+len(awkward)+60 || len(res.Missing) != 0 {
		t.Fatalf("pull: %+v %v", res, err)
	}
	for _, name := range append(awkward, "many/07.csv") {
		if got, want := read(t, filepath.Join(clone, "data/tree", name)), read(t, r.abs("data/tree/"+name)); got != want {
			t.Errorf("%s: pulled %q, pushed %q", name, got, want)
		}
	}
	// One object lost from the bucket: new in the first repository,
	// missing in a clone that lacks it too.
	lost := tracked[0]
	m, _ := r.Cache.ReadManifest(lost.Out.MD5, false)
	gone := Object{ID: m[0].MD5}
	if err := s3r.B.Delete(ctx, gone.Key()); err != nil {
		t.Fatal(err)
	}
	st, _ = r.CloudStatus(ctx, rem, []string{r.abs("data/tree")}, 0)
	if len(st) != 1 || st[0] != (CloudEntry{Name: "data/tree/" + m[0].RelPath, Status: CloudNew}) {
		t.Errorf("after losing %s: %+v", m[0].RelPath, st)
	}
	// Lost from the cache too: missing; another lost from the cache
	// only: deleted, listed first, as DVC groups them.
	for _, e := range m[:2] {
		p := r.Cache.ObjectPath(Object{ID: e.MD5})
		_ = os.Chmod(filepath.Dir(p), 0o755)
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = r.CloudStatus(ctx, rem, []string{r.abs("data/tree")}, 0)
	want := []CloudEntry{{Name: "data/tree/" + m[1].RelPath, Status: CloudDeleted}, {Name: "data/tree/" + m[0].RelPath, Status: CloudMissing}}
	if !slices.Equal(st, want) {
		t.Errorf("after losing two from the cache: %+v, want %+v", st, want)
	}
	// Python's json.dumps escapes what is not ASCII, as DVC prints it.
	if got := string(CloudStatusJSON(st, false)); got != `{"data/tree/caf\u00e9 \u672c.txt": "deleted", "data/tree/[brackets]{braces}": "missing"}` {
		t.Errorf("JSON: %s", got)
	}
}

// A remote whose bucket is missing is a clear error before anything
// moves.
func TestS3RemoteErrors(t *testing.T) {
	srv := s3test.Get(t)
	srv.Setenv(t)
	r := newRepo(t)
	if _, err := r.Add(t.Context(), []string{r.abs("data/raw")}, AddOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddRemote(LevelRepo, "gone", "s3://no-such-bucket/x", true, false); err != nil {
		t.Fatal(err)
	}
	rem, err := r.Remote("")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Push(t.Context(), rem, nil, TransferOptions{})
	var be *bucket.Error
	if !errorsAs(err, &be) || be.ExitCode() != 8 || !strings.Contains(err.Error(), `bucket "no-such-bucket" does not exist`) {
		t.Errorf("push to a missing bucket: %v", err)
	}
}

func errorsAs(err error, target **bucket.Error) bool { return errors.As(err, target) }
