package dataset

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/housectl/housectl/pkg/config"
)

// Dataset is a validated frame split into features and target.
type Dataset struct {
	Features []string
	Target   string
	// N is the number of rows.
	N int
	// X holds feature j at X[j*N:(j+1)*N] (column-major).
	X []float64
	// Y is the target, one value per row.
	Y []float64
}

// Feature returns feature column j; the slice aliases X.
func (d *Dataset) Feature(j int) []float64 { return d.X[j*d.N : (j+1)*d.N] }

// ValidationError is returned by Load when the data has errors.
type ValidationError struct {
	Report *Report
}

func (e *ValidationError) Error() string {
	r := e.Report
	var first string
	for _, p := range r.Problems {
		if p.Severity == SeverityError {
			first = p.String()
			break
		}
	}
	return fmt.Sprintf("%s has %d problem(s), first: %s; run `housectl data validate %s` to see them all",
		r.File, r.Errors, first, r.File)
}

// ErrInvalid matches every *ValidationError with errors.Is.
var ErrInvalid = errors.New("invalid data")

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Check reads the CSV at path against schema and returns its report,
// listing at most limit problems of each kind (0: all).
func Check(path string, schema config.Schema, limit int) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	_, rep, err := Read(f, ReadOptions{Schema: schema, Name: path, Limit: limit, SizeHint: size})
	return rep, err
}

// Load reads and validates the CSV at path and returns it as a Dataset. Any
// validation error fails the load with a *ValidationError.
func Load(path string, schema config.Schema) (*Dataset, *Report, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s does not exist: run `housectl data fetch` first, or pass the file to use", path)
		}
		return nil, nil, err
	}
	defer f.Close()
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	fr, rep, err := Read(f, ReadOptions{Schema: schema, Name: path, Limit: 1000, SizeHint: size})
	if err != nil {
		return nil, nil, err
	}
	if !rep.OK() {
		return nil, rep, &ValidationError{Report: rep}
	}
	return FromFrame(fr, schema.Target), rep, nil
}

// FromFrame splits a frame into features (every column but target, in frame
// order) and the target. It copies the data.
func FromFrame(f *Frame, target string) *Dataset {
	d := &Dataset{Target: target, N: f.Rows, X: make([]float64, 0, len(f.Data))}
	for j, name := range f.Names {
		if name == target {
			d.Y = slices.Clone(f.Col(j))
			continue
		}
		d.Features = append(d.Features, name)
		d.X = append(d.X, f.Col(j)...)
	}
	return d
}

// Subset returns the rows idx of d, in that order, as a new Dataset.
func (d *Dataset) Subset(idx []int) *Dataset {
	s := &Dataset{Features: d.Features, Target: d.Target, N: len(idx),
		X: make([]float64, len(d.Features)*len(idx)), Y: make([]float64, len(idx))}
	for j := range d.Features {
		src, dst := d.Feature(j), s.Feature(j)
		for i, r := range idx {
			dst[i] = src[r]
		}
	}
	for i, r := range idx {
		s.Y[i] = d.Y[r]
	}
	return s
}

// newRand returns the generator every seeded helper uses: PCG seeded from
// seed alone, so results depend on nothing else.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Split is a hold-out split of row indices.
type Split struct {
	Train []int
	Test  []int
}

// TrainTestSplit shuffles 0..n-1 with the seed and holds out
// ceil(testFraction*n) rows for testing, as scikit-learn's train_test_split
// sizes it. Both index lists are sorted ascending.
func TrainTestSplit(n int, testFraction float64, seed uint64) (Split, error) {
	if !(testFraction > 0 && testFraction < 1) {
		return Split{}, fmt.Errorf("test fraction must be between 0 and 1 (exclusive), got %g", testFraction)
	}
	nTest := int(math.Ceil(testFraction * float64(n)))
	if nTest < 1 || n-nTest < 1 {
		return Split{}, fmt.Errorf("cannot hold out %g of %d rows: both the training and the test part need at least one row", testFraction, n)
	}
	perm := newRand(seed).Perm(n)
	s := Split{Test: perm[:nTest], Train: perm[nTest:]}
	slices.Sort(s.Test)
	slices.Sort(s.Train)
	return s, nil
}

// Fold is one round of k-fold cross-validation: indices into the rows that
// were folded.
type Fold struct {
	Train []int
	Valid []int
}

// KFold shuffles idx with the seed and cuts it into k folds of nearly equal
// size (the first len(idx)%k folds get one more row, as scikit-learn's
// KFold does). Fold i validates on part i and trains on the rest. Index
// lists are sorted ascending. idx is not modified.
func KFold(idx []int, k int, seed uint64) ([]Fold, error) {
	n := len(idx)
	if k < 2 {
		return nil, fmt.Errorf("cross-validation needs at least 2 folds, got %d", k)
	}
	if k > n {
		return nil, fmt.Errorf("cannot cut %d rows into %d folds: use fewer folds or more data", n, k)
	}
	shuffled := slices.Clone(idx)
	r := newRand(seed)
	r.Shuffle(n, func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	folds := make([]Fold, k)
	start := 0
	for i := range k {
		size := n / k
		if i < n%k {
			size++
		}
		valid := slices.Clone(shuffled[start : start+size])
		train := make([]int, 0, n-size)
		train = append(train, shuffled[:start]...)
		train = append(train, shuffled[start+size:]...)
		slices.Sort(valid)
		slices.Sort(train)
		folds[i] = Fold{Train: train, Valid: valid}
		start += size
	}
	return folds, nil
}

// Summary lines a person reads: "20640 rows, 9 columns, 0 errors, 0 warnings".
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows, %d columns: %d error(s), %d warning(s)", r.Rows, len(r.Columns), r.Errors, r.Warnings)
	return b.String()
}
