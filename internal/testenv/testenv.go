// Package testenv finds the shared, read-only test inputs that live beside
// the repository (../shared/datasets) and builds small archives for tests.
package testenv

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/housectl/housectl/pkg/data"
	"github.com/housectl/housectl/pkg/dataset"
	"github.com/housectl/housectl/pkg/model"
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

// California returns the real frame as a column-major feature matrix and
// the target, split by dataset.TrainTestSplit(n, 0.2, 42) when split is
// true (train, then test), else all rows in the first pair.
func California(tb testing.TB, split bool) (X model.Matrix, y []float64, Xt model.Matrix, yt []float64) {
	tb.Helper()
	recs, err := csv.NewReader(bytes.NewReader(CaliforniaFrame(tb))).ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	recs = recs[1:]
	all := make([]int, len(recs))
	for i := range all {
		all[i] = i
	}
	mk := func(idx []int) (model.Matrix, []float64) {
		n := len(idx)
		m := model.Matrix{Rows: n, Cols: 8, Data: make([]float64, n*8)}
		t := make([]float64, n)
		for i, r := range idx {
			for j := range 9 {
				v, err := strconv.ParseFloat(recs[r][j], 64)
				if err != nil {
					tb.Fatal(err)
				}
				if j == 8 {
					t[i] = v
				} else {
					m.Data[j*n+i] = v
				}
			}
		}
		return m, t
	}
	if !split {
		X, y = mk(all)
		return X, y, model.Matrix{}, nil
	}
	s, err := dataset.TrainTestSplit(len(recs), 0.2, 42)
	if err != nil {
		tb.Fatal(err)
	}
	X, y = mk(s.Train)
	Xt, yt = mk(s.Test)
	return X, y, Xt, yt
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

// Strace returns the path of strace(1), which the crash tests use to kill
// housectl at chosen system calls. make test installs it (Debian's strace);
// a test that needs it fails, rather than skips, without it.
func Strace(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("strace")
	if err != nil {
		tb.Fatal("strace is missing: install it with scripts/deps-debian.sh strace (make test does)")
	}
	return p
}

// CategoryData is n rows of a category of 12 labels (column 0, its label
// index) whose effects on y follow no order of the labels, a missing label
// (NaN) for one row in nine, and a number in [0, 1) (column 1).
func CategoryData(n int) (model.Matrix, []float64) {
	r := rand.New(rand.NewPCG(5, 6))
	effect := make([]float64, 12)
	for k := range effect {
		effect[k] = r.NormFloat64() * 3
	}
	X := model.Matrix{Rows: n, Cols: 2, Data: make([]float64, 2*n)}
	y := make([]float64, n)
	for i := range n {
		c, b := r.IntN(12), r.Float64()
		X.Data[i], X.Data[n+i] = float64(c), b
		y[i] = effect[c] + b
		if i%9 == 0 {
			X.Data[i], y[i] = math.NaN(), 4+b
		}
	}
	return X, y
}
