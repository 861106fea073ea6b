// Package testenv finds the shared, read-only test inputs that live beside
// the repository (../shared/datasets) and builds small archives for tests.
package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/housectl/housectl/pkg/data"
)

// ArchiveSHA256 is the digest of the real cal_housing.tgz.
const ArchiveSHA256 = "aaa5c9a6afe2225cc2aed2723682ae403280c4a3695a2ddda4ffb5d8215ea681"

// SharedDir returns the shared/ directory beside the repository, or
// $HOUSECTL_SHARED_DIR. A test that needs it fails, rather than skips, when
// it is missing: CI always has it.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("HOUSECTL_SHARED_DIR"); d != "" {
		return d
	}
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			shared := filepath.Join(filepath.Dir(dir), "shared")
			if _, err := os.Stat(filepath.Join(shared, "datasets", "cal_housing.tgz")); err != nil {
				tb.Fatalf("the shared datasets are missing: want %s/datasets/cal_housing.tgz beside the repository (or set HOUSECTL_SHARED_DIR)", shared)
			}
			return shared
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// CalHousingArchive returns the path of the real cal_housing.tgz.
func CalHousingArchive(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(SharedDir(tb), "datasets", "cal_housing.tgz")
}

// CaliforniaFrame returns the derived data/california.csv bytes, built in
// memory from the real archive the way `housectl data fetch` builds them.
func CaliforniaFrame(tb testing.TB) []byte {
	tb.Helper()
	f, err := os.Open(CalHousingArchive(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	members, err := data.ReadArchive(context.Background(), f, 64<<20)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range members {
		if m.Name == data.CaliforniaMember {
			csv, _, err := data.DeriveCalifornia(bytes.NewReader(m.Data))
			if err != nil {
				tb.Fatal(err)
			}
			return csv
		}
	}
	tb.Fatalf("the archive has no %s", data.CaliforniaMember)
	return nil
}

// GeronCSV returns the path of the dirty geron_housing.csv.
func GeronCSV(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(SharedDir(tb), "datasets", "geron_housing.csv")
}

// Entry is one tar entry for TarGz.
type Entry struct {
	Name     string
	Body     string
	Type     byte // tar.TypeReg when zero
	Linkname string
	Size     int64 // overrides len(Body) in the header when non-zero
}

// TarGz builds a gzip-compressed tar of the entries. Headers are written as
// given, so tests can build hostile archives.
func TarGz(tb testing.TB, entries ...Entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.Body))
		if typ != tar.TypeReg {
			size = 0
		}
		if e.Size != 0 {
			size = e.Size
		}
		hdr := &tar.Header{Name: e.Name, Typeflag: typ, Linkname: e.Linkname, Size: size, Mode: 0o644}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if typ == tar.TypeReg && e.Size == 0 {
			if _, err := tw.Write([]byte(e.Body)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil && entries[len(entries)-1].Size == 0 {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// SHA256 is the hex digest of b.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
