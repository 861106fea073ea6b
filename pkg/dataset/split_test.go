package dataset_test

import (
	"slices"
	"testing"

	"github.com/housectl/housectl/pkg/dataset"
)

func TestTrainTestSplit(t *testing.T) {
	s, err := dataset.TrainTestSplit(20640, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Test) != 4128 || len(s.Train) != 16512 {
		t.Errorf("sizes %d/%d, want 16512/4128", len(s.Train), len(s.Test))
	}
	all := slices.Concat(s.Train, s.Test)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("the parts do not partition 0..n-1 (at %d: %d)", i, v)
		}
	}
	if !slices.IsSorted(s.Train) || !slices.IsSorted(s.Test) {
		t.Error("parts are not sorted")
	}
	again, _ := dataset.TrainTestSplit(20640, 0.2, 42)
	if !slices.Equal(s.Test, again.Test) {
		t.Error("same seed, different split")
	}
	other, _ := dataset.TrainTestSplit(20640, 0.2, 43)
	if slices.Equal(s.Test, other.Test) {
		t.Error("different seeds, same split")
	}
	// scikit-learn sizes the test part with ceil.
	if s, _ := dataset.TrainTestSplit(11, 0.25, 1); len(s.Test) != 3 {
		t.Errorf("ceil(2.75) test rows = %d", len(s.Test))
	}
	for _, bad := range []struct {
		n int
		f float64
	}{{10, 0}, {10, 1}, {10, -0.1}, {1, 0.5}, {10, 0.99}} {
		if _, err := dataset.TrainTestSplit(bad.n, bad.f, 1); err == nil {
			t.Errorf("TrainTestSplit(%d, %g) accepted", bad.n, bad.f)
		}
	}
}

func TestKFold(t *testing.T) {
	idx := make([]int, 0, 103)
	for i := range 103 {
		idx = append(idx, i*2) // indices need not be 0..n-1
	}
	orig := slices.Clone(idx)
	folds, err := dataset.KFold(idx, 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(idx, orig) {
		t.Error("KFold modified its input")
	}
	sizes := []int{21, 21, 21, 20, 20}
	var valid []int
	for i, f := range folds {
		if len(f.Valid) != sizes[i] || len(f.Train)+len(f.Valid) != 103 {
			t.Errorf("fold %d: %d valid, %d train", i, len(f.Valid), len(f.Train))
		}
		for _, v := range f.Valid {
			if _, found := slices.BinarySearch(f.Train, v); found {
				t.Errorf("fold %d: %d is in both parts", i, v)
			}
		}
		valid = append(valid, f.Valid...)
	}
	slices.Sort(valid)
	if !slices.Equal(valid, orig) {
		t.Error("validation parts do not cover the input exactly once")
	}
	again, _ := dataset.KFold(idx, 5, 7)
	for i := range folds {
		if !slices.Equal(folds[i].Valid, again[i].Valid) {
			t.Error("same seed, different folds")
		}
	}
	if _, err := dataset.KFold(idx, 1, 7); err == nil {
		t.Error("k=1 accepted")
	}
	if _, err := dataset.KFold(idx[:3], 5, 7); err == nil {
		t.Error("more folds than rows accepted")
	}
}
