package bucket

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sync/errgroup"

	"github.com/housectl/housectl/internal/s3test"
)

// BenchmarkSmallObjects moves 500 objects of 4 KiB up and back down, 8
// at a time, against the real test server: the per-request cost that a
// push or pull of many small files pays.
func BenchmarkSmallObjects(b *testing.B) {
	srv := s3test.Get(b)
	bk, err := Open(b.Context(), srv.Bucket(b), serverOptions(srv))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	data := make([]byte, 4096)
	_, _ = rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		b.Fatal(err)
	}
	sum := md5hexOf(data)
	for b.Loop() {
		g, ctx := errgroup.WithContext(b.Context())
		g.SetLimit(8)
		for i := range 500 {
			g.Go(func() error { return bk.PutFile(ctx, fmt.Sprintf("o/%d", i), src, sum, 1) })
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
		g, ctx = errgroup.WithContext(b.Context())
		g.SetLimit(8)
		for i := range 500 {
			g.Go(func() error {
				return bk.GetFile(ctx, fmt.Sprintf("o/%d", i), filepath.Join(dir, "d", fmt.Sprint(i)), sum, 1)
			})
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}
