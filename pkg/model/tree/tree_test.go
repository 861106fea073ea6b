package tree

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/model"
)

func TestBinner(t *testing.T) {
	X := model.Matrix{Rows: 6, Cols: 2, Data: []float64{1, 2, 2, 3, 10, 10, 0, 0, 0, 0, 0, 0}}
	b, err := NewBinner(X, 255, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Edges[0]; len(got) != 3 || got[0] != 1.5 || got[1] != 2.5 || got[2] != 6.5 {
		t.Errorf("edges = %v, want midpoints of distinct values", got)
	}
	if len(b.Edges[1]) != 0 || b.NumBins(1) != 1 {
		t.Errorf("a constant feature has one bin: %v", b.Edges[1])
	}
	for x, want := range map[float64]uint8{-5: 0, 1: 0, 1.5: 0, 1.6: 1, 2.5: 1, 3: 2, 6.5: 2, 7: 3, math.Inf(1): 3} {
		if got := b.Code(0, x); got != want {
			t.Errorf("Code(%v) = %d, want %d", x, got, want)
		}
		// Code and Threshold agree: x <= Threshold(bin) exactly when code <= bin.
		for bin := range uint8(4) {
			if (x <= b.Threshold(0, bin)) != (b.Code(0, x) <= bin) {
				t.Errorf("x=%v bin=%d: threshold and code disagree", x, bin)
			}
		}
	}
	// Many distinct values: at most maxBins bins.
	r := rand.New(rand.NewPCG(1, 1))
	big := model.Matrix{Rows: 10000, Cols: 1, Data: make([]float64, 10000)}
	for i := range big.Data {
		big.Data[i] = r.NormFloat64()
	}
	b, _ = NewBinner(big, 16, nil, nil)
	if b.NumBins(0) > 16 || b.NumBins(0) < 14 {
		t.Errorf("%d bins for 16 requested", b.NumBins(0))
	}
	if _, err := NewBinner(big, 1, nil, nil); err == nil {
		t.Error("max_bins 1 accepted")
	}
}

// A step function is recovered exactly by a depth-2 tree.
func TestGrowRecoversSteps(t *testing.T) {
	n := 400
	X := model.Matrix{Rows: n, Cols: 2, Data: make([]float64, 2*n)}
	y := make([]float64, n)
	for i := range n {
		a, c := float64(i%20), float64(i/20)
		X.Data[i], X.Data[n+i] = a, c
		y[i] = 1
		if a >= 10 {
			y[i] += 2
		}
		if c >= 5 {
			y[i] += 4
		}
	}
	b, _ := NewBinner(X, 255, nil, nil)
	codes := b.Bin(X)
	nb := []int{b.NumBins(0), b.NumBins(1)}
	w := make([]float64, n)
	rows := make([]int32, n)
	for i := range n {
		w[i] = 1
		rows[i] = int32(i)
	}
	for _, p := range []Params{
		{MaxDepth: 2, MinSamplesLeaf: 1, MinSamplesSplit: 2},
		{MaxLeaves: 4, MinSamplesLeaf: 1, MinSamplesSplit: 2},
	} {
		gr := NewGrower(codes, n, nb, p)
		tr := gr.Grow(append([]int32(nil), rows...), y, w, rand.New(rand.NewPCG(1, 2)))
		if tr.NumLeaves() != 4 || tr.Depth() != 2 {
			t.Errorf("%+v: %d leaves, depth %d", p, tr.NumLeaves(), tr.Depth())
		}
		codesRow := make([]uint8, 2)
		for i := range n {
			codesRow[0], codesRow[1] = codes[i], codes[n+i]
			if got := tr.Predict(codesRow); math.Abs(got-y[i]) > 1e-12 {
				t.Fatalf("row %d: %v, want %v", i, got, y[i])
			}
			if tr.PredictColumnar(codes, n, i) != tr.Predict(codesRow) {
				t.Fatal("columnar and row predictions differ")
			}
		}
		if gr.Gain[0] <= 0 || gr.Gain[1] <= gr.Gain[0] {
			t.Errorf("gains %v: feature 1 (step 4) should matter more than feature 0 (step 2)", gr.Gain)
		}
		// Round trip.
		r := model.NewReader(tr.AppendBinary(nil))
		back, err := ReadTree(r, 2)
		if err != nil || len(back.Nodes) != len(tr.Nodes) {
			t.Fatalf("round trip: %v", err)
		}
	}
	// min_samples_leaf caps the leaves' sizes.
	gr := NewGrower(codes, n, nb, Params{MinSamplesLeaf: 150, MinSamplesSplit: 2})
	tr := gr.Grow(append([]int32(nil), rows...), y, w, rand.New(rand.NewPCG(1, 2)))
	if tr.NumLeaves() != 2 {
		t.Errorf("min_samples_leaf 150 of 400 rows: %d leaves, want 2", tr.NumLeaves())
	}
}

func TestReadTreeRejectsMalformed(t *testing.T) {
	good := (&Tree{Nodes: []Node{{Feature: 0, Bin: 3, Right: 2}, {Feature: leafFeature, Right: 0}, {Feature: leafFeature, Right: 1}}, Values: []float64{1, 2}}).AppendBinary(nil)
	if _, err := ReadTree(model.NewReader(good), 1); err != nil {
		t.Fatalf("good tree: %v", err)
	}
	bad := []*Tree{
		{Nodes: []Node{{Feature: 0, Right: 0}, {Feature: leafFeature}}, Values: []float64{1}},                                      // cycle
		{Nodes: []Node{{Feature: 5, Right: 2}, {Feature: leafFeature}, {Feature: leafFeature, Right: 1}}, Values: []float64{1, 2}}, // feature out of range
		{Nodes: []Node{{Feature: leafFeature, Right: 3}}, Values: []float64{1}},                                                    // value out of range
		{Nodes: []Node{{Feature: 0, Right: 9}, {Feature: leafFeature}}, Values: []float64{1}},                                      // child out of range
	}
	for i, tr := range bad {
		if _, err := ReadTree(model.NewReader(tr.AppendBinary(nil)), 1); err == nil {
			t.Errorf("malformed tree %d accepted", i)
		}
	}
	if _, err := ReadTree(model.NewReader(good[:len(good)-4]), 1); err == nil {
		t.Error("cut tree accepted")
	}
}

func TestParamsValidate(t *testing.T) {
	for _, p := range []Params{
		{MinSamplesLeaf: 0, MinSamplesSplit: 2}, {MinSamplesLeaf: 1, MinSamplesSplit: 1},
		{MaxLeaves: 1, MinSamplesLeaf: 1, MinSamplesSplit: 2}, {MaxDepth: -1, MinSamplesLeaf: 1, MinSamplesSplit: 2},
		{MaxFeatures: 9, MinSamplesLeaf: 1, MinSamplesSplit: 2}, {L2: -1, MinSamplesLeaf: 1, MinSamplesSplit: 2},
	} {
		if err := p.Validate(8); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// Code agrees with a plain linear scan for every edge count and value.
func TestCodeMatchesScan(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 40 {
		edges := make([]float64, n)
		v := -float64(n) / 2 // edges on both sides of zero
		for i := range edges {
			v += r.Float64() + 0.01
			edges[i] = v
		}
		b := newBinner([][]float64{edges})
		probe := []float64{-1, v + 1, math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1)}
		for _, e := range edges {
			probe = append(probe, e, math.Nextafter(e, -1), math.Nextafter(e, 10))
		}
		for _, x := range probe {
			want := len(edges) // values above every edge: the last bin
			if math.IsNaN(x) {
				want = MissingCode // a bin of its own
			}
			for i, e := range edges {
				if x <= e {
					want = i
					break
				}
			}
			if got := b.Code(0, x); int(got) != want {
				t.Fatalf("%d edges, x=%v: code %d, want %d", n, x, got, want)
			}
		}
	}
}

// randomTree builds a preorder tree of the given number of leaves with
// random threshold splits over nfeat features.
func randomTree(r *rand.Rand, leaves, nfeat int) *Tree {
	return randomTreeOf(r, leaves, nfeat, false)
}

// randomTreeOf is randomTree; mixed also draws splits that send missing
// values left and splits on random category sets.
func randomTreeOf(r *rand.Rand, leaves, nfeat int, mixed bool) *Tree {
	t := &Tree{}
	var gen func(l int)
	gen = func(l int) {
		if l == 1 {
			t.Nodes = append(t.Nodes, Node{Right: int32(len(t.Values)), Feature: leafFeature})
			t.Values = append(t.Values, r.NormFloat64())
			return
		}
		i := len(t.Nodes)
		t.Nodes = append(t.Nodes, Node{Feature: uint16(r.IntN(nfeat)), Bin: uint8(r.IntN(MaxBins - 1))})
		if mixed {
			switch r.IntN(3) {
			case 0:
				t.Nodes[i].Flags = MissingLeft
			case 1:
				t.Nodes[i].Flags, t.Nodes[i].Bin = CategorySet, 0
				t.Sets = append(t.Sets, CatSet{r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64()})
			}
		}
		a := 1 + r.IntN(l-1)
		gen(a)
		t.Nodes[i].Right = int32(len(t.Nodes))
		gen(l - a)
	}
	gen(leaves)
	t.indexSets()
	t.prepare()
	return t
}

// Batches agree with a plain walk of every tree, whether a tree is summed
// through leaf masks (<= 64 leaves) or walked, and with Predict's bits;
// also with splits that send missing values left and splits on category
// sets, for rows with missing values.
func TestPredictBlocksMatchesWalk(t *testing.T) {
	for _, mixed := range []bool{false, true} {
		t.Run(fmt.Sprint("mixed=", mixed), func(t *testing.T) { testPredictBlocks(t, mixed) })
	}
}

func testPredictBlocks(t *testing.T, mixed bool) {
	r := rand.New(rand.NewPCG(7, 8))
	const nfeat, rows = 5, 1000
	edges := make([][]float64, nfeat)
	for j := range edges {
		for k := range MaxBins - 2 {
			edges[j] = append(edges[j], float64(k)+0.5) // code(k) = k
		}
	}
	e := &Ensemble{Binner: newBinner(edges), Base: 0.25, Scale: 0.5}
	for _, l := range []int{1, 2, 17, 63, 64, 65, 300, 64, 1} {
		e.Trees = append(e.Trees, randomTreeOf(r, l, nfeat, mixed))
	}
	e.Prepare()
	if e.Trees[4].masks == nil || e.Trees[5].masks != nil {
		t.Fatal("leaf masks should be built for 64 leaves and not for 65")
	}
	if mixed && (!e.sets || !e.missLeft || layout(e.Trees[5]) != byTree) {
		t.Fatalf("mixed trees: sets %v, missing left %v, layout of 65 leaves %d", e.sets, e.missLeft, layout(e.Trees[5]))
	}
	for _, rows := range []int{1, 33, rows} {
		X := model.Matrix{Rows: rows, Cols: nfeat, Data: make([]float64, rows*nfeat)}
		for i := range X.Data {
			X.Data[i] = float64(r.IntN(MaxBins - 1))
			if mixed && r.IntN(8) == 0 {
				X.Data[i] = math.NaN()
			}
		}
		for _, workers := range []int{1, 3} {
			got := make([]float64, rows)
			predictBlocks(e, X, got, workers)
			row, codes := make([]float64, nfeat), make([]uint8, nfeat)
			for i := range rows {
				X.Row(i, row)
				var s float64
				for j, x := range row {
					codes[j] = e.Binner.Code(j, x)
				}
				for _, tr := range e.Trees {
					s += tr.Predict(codes)
				}
				if want := e.Base + s*e.Scale; got[i] != want || e.Predict(row) != want {
					t.Fatalf("%d rows, workers %d, row %d: batch %v, Predict %v, walk %v", rows, workers, i, got[i], e.Predict(row), want)
				}
			}
		}
	}
}

// A node flag this housectl does not know is refused: a newer housectl
// wrote the model.
func TestReadTreeRefusesUnknownFlags(t *testing.T) {
	tr := &Tree{Nodes: []Node{{Feature: 0, Bin: 3, Right: 2, Flags: MissingLeft}, {Feature: leafFeature, Right: 0}, {Feature: leafFeature, Right: 1}}, Values: []float64{1, 2}}
	if _, err := ReadTree(model.NewReader(tr.AppendBinary(nil)), 1); err != nil {
		t.Fatalf("MissingLeft refused: %v", err)
	}
	tr.Nodes[0].Flags = 4
	if _, err := ReadTree(model.NewReader(tr.AppendBinary(nil)), 1); err == nil || !strings.Contains(err.Error(), "a newer housectl wrote the model") {
		t.Errorf("unknown flags: %v", err)
	}
	tr.Nodes[0].Flags = MissingLeft
	if !tr.left(0, tr.Nodes[0], MissingCode) {
		t.Error("MissingLeft does not send a missing value left")
	}
	if (&Tree{}).left(0, Node{Bin: 254}, MissingCode) {
		t.Error("without the flag a missing value goes left")
	}
}

// A category split's set follows its tree in the payload and comes back;
// a payload that ends before a set is refused.
func TestCategorySetsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	tr := randomTreeOf(r, 40, 3, true)
	if !tr.HasSets() {
		t.Fatal("no category split drawn")
	}
	b := tr.AppendBinary(nil)
	back, err := ReadTree(model.NewReader(b), 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Sets, tr.Sets) || !slices.Equal(back.Nodes, tr.Nodes) {
		t.Fatal("sets or nodes changed in the round trip")
	}
	codes := make([]uint8, 3)
	for range 500 {
		for j := range codes {
			codes[j] = uint8(r.IntN(MaxBins))
		}
		if back.Predict(codes) != tr.Predict(codes) {
			t.Fatalf("codes %v: %v after the round trip, %v before", codes, back.Predict(codes), tr.Predict(codes))
		}
	}
	if _, err := ReadTree(model.NewReader(b[:len(b)-1]), 3); err == nil {
		t.Error("a truncated set was read")
	}
}

// A category's code is its label index, whatever max_bins, and a
// category with more labels than codes is refused by name.
func TestBinnerCategoryCodes(t *testing.T) {
	X := model.Matrix{Rows: 4, Cols: 2, Data: []float64{0, 5, 9, math.NaN(), 1, 2, 3, 4}}
	b, err := NewBinner(X, 2, []int{12, 0}, []string{"ocean", "rooms"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x    float64
		want uint8
	}{{0, 0}, {5, 5}, {9, 9}, {11, 11}, {math.NaN(), MissingCode}} {
		if got := b.Code(0, c.x); got != c.want {
			t.Errorf("label %v: code %d, want %d", c.x, got, c.want)
		}
	}
	if b.NumBins(0) != 12 || b.NumBins(1) != 2 {
		t.Errorf("bins %d and %d, want 12 and 2", b.NumBins(0), b.NumBins(1))
	}
	_, err = NewBinner(X, 255, []int{300, 0}, []string{"zip", "rooms"})
	if err == nil || !strings.Contains(err.Error(), `category "zip" has 300 labels`) {
		t.Errorf("300 labels: %v", err)
	}
}

// A category that acts out of its label order is split as a set: one
// split separates the labels 0, 2, 5 from 1, 3, 4, which thresholds on
// the codes would need five for. The missing code, a category of its own
// here, joins the side it behaves like.
func TestGrowSplitsCategorySets(t *testing.T) {
	const n = 600
	codes := make([]uint8, n)
	g, w := make([]float64, n), make([]float64, n)
	high := map[uint8]bool{0: true, 2: true, 5: true, MissingCode: true}
	for i := range n {
		codes[i] = uint8(i % 6)
		if i%7 == 0 {
			codes[i] = MissingCode
		}
		w[i] = 1
		if high[codes[i]] {
			g[i] = 10
		}
	}
	gr := NewGrower(codes, n, []int{6}, Params{MaxLeaves: 2, MinSamplesLeaf: 1, MinSamplesSplit: 2})
	gr.Cats = Categorical([]int{6}, 1)
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i)
	}
	tr := gr.Grow(rows, g, w, rand.New(rand.NewPCG(1, 2)))
	if len(tr.Nodes) != 3 || tr.Nodes[0].Flags != CategorySet {
		t.Fatalf("want one category split, got nodes %+v", tr.Nodes)
	}
	for c := range 6 {
		want := 10.0
		if !high[uint8(c)] {
			want = 0
		}
		if got := tr.Predict([]uint8{uint8(c)}); got != want {
			t.Errorf("label %d predicts %v, want %v", c, got, want)
		}
	}
	if got := tr.Predict([]uint8{MissingCode}); got != 10 {
		t.Errorf("a missing label predicts %v, want 10", got)
	}
	tr.prepare()
	if tr.masks == nil {
		t.Fatal("a two-leaf tree has no leaf masks")
	}
	acc, m := make([]float64, 7), make([]uint64, 7)
	sumMasks(tr, []uint8{0, 1, 2, 3, 4, 5, MissingCode}, 7, 7, m, acc)
	if !slices.Equal(acc, []float64{10, 0, 10, 0, 0, 10, 10}) {
		t.Errorf("leaf masks give %v", acc)
	}
}
