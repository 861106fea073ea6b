package tree

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// kernel is one implementation of the packed walk.
type kernel struct {
	name string
	walk func(*packed, []uint8, []int32, int)
}

// exitNode walks t's nodes the plain way and returns the leaf's index.
func exitNode(t *Tree, codes []uint8) int32 {
	var i int32
	for t.Nodes[i].Feature != leafFeature {
		if n := t.Nodes[i]; codes[n.Feature] > n.Bin {
			i = n.Right
		} else {
			i++
		}
	}
	return i
}

// chain is a tree whose every right child is a leaf: depth leaves-1.
func chain(leaves, feat int) *Tree {
	// Node k's left child is node k+1 (the next test) and its right child
	// a leaf placed after the whole left subtree.
	t := &Tree{}
	var gen func(k int)
	gen = func(k int) {
		if k == leaves-1 {
			t.Nodes = append(t.Nodes, Node{Right: int32(len(t.Values)), Feature: leafFeature})
			t.Values = append(t.Values, float64(k))
			return
		}
		i := len(t.Nodes)
		t.Nodes = append(t.Nodes, Node{Feature: uint16(feat), Bin: uint8(k % 250)})
		gen(k + 1)
		t.Nodes[i].Right = int32(len(t.Nodes))
		t.Nodes = append(t.Nodes, Node{Right: int32(len(t.Values)), Feature: leafFeature})
		t.Values = append(t.Values, -float64(k))
	}
	gen(0)
	t.prepare()
	return t
}

func TestWalkKernelsAgreeWithPlainWalk(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	trees := map[string]*Tree{
		"single leaf":         randomTree(r, 1, 5),
		"65 leaves, 5 feats":  randomTree(r, 65, 5),
		"3000 leaves, 8":      randomTree(r, 3000, 8),
		"3000 leaves, 20":     randomTree(r, 3000, 20),
		"3000 leaves, 32":     randomTree(r, 3000, 32),
		"chain of 300 levels": chain(300, 2),
	}
	for name, tr := range trees {
		if tr.masks != nil {
			tr.packed = packTree(tr) // force the walk for small trees too
		}
		if tr.packed == nil {
			t.Fatalf("%s: not packed", name)
		}
		nfeat := 0
		for _, n := range tr.Nodes {
			if n.Feature != leafFeature {
				nfeat = max(nfeat, int(n.Feature)+1)
			}
		}
		if want := nfeat <= 8; tr.packed.narrow != want {
			t.Errorf("%s: narrow %v, want %v", name, tr.packed.narrow, want)
		}
		for _, rows := range []int{32, 96} {
			codes := make([]uint8, rows*laneStride+4)
			for i := range codes {
				codes[i] = uint8(r.IntN(256))
			}
			want := make([]int32, rows)
			for i := range rows {
				want[i] = exitNode(tr, codes[i*laneStride:(i+1)*laneStride])
			}
			for _, k := range kernels() {
				for _, narrow := range []bool{tr.packed.narrow, false} {
					p := *tr.packed
					p.narrow = narrow
					got := make([]int32, rows)
					k.walk(&p, codes, got, tr.depth)
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("%s, %s (narrow %v), %d rows: row %d exits at node %d, want %d", name, k.name, narrow, rows, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

func TestPackTreeRefusesWhatDoesNotFit(t *testing.T) {
	stump := func(feat uint16) *Tree {
		return &Tree{Nodes: []Node{{Right: 2, Feature: feat, Bin: 1}, {Feature: leafFeature}, {Right: 1, Feature: leafFeature}}, Values: []float64{1, 2}}
	}
	if p := packTree(stump(laneStride)); p != nil {
		t.Error("a split on feature 32 was packed")
	}
	if p := packTree(stump(laneStride - 1)); p == nil || p.narrow {
		t.Errorf("a split on feature 31: packed %v, want packed and not narrow", p)
	}
	if p := packTree(stump(7)); p == nil || !p.narrow || p.value[1] != 1 || p.value[2] != 2 {
		t.Errorf("a split on feature 7: packed %+v, want narrow, values 1 and 2 at nodes 1 and 2", p)
	}
	// A root whose right child lies 2*16384 nodes on: the offset needs 16 bits.
	if p := packTree(chain(16385, 1)); p != nil {
		t.Error("a right offset of 32,768 was packed")
	}
	if p := packTree(chain(16384, 1)); p == nil {
		t.Error("a right offset of 32,766 was refused")
	}
}

func TestWalkRowsChecksTheBlock(t *testing.T) {
	tr := randomTree(rand.New(rand.NewPCG(1, 1)), 100, 3)
	for _, c := range []struct{ rows, codes int }{{31, 31*laneStride + 4}, {32, 32 * laneStride}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d rows, %d code bytes: no panic", c.rows, c.codes)
				}
			}()
			walkRows(tr.packed, make([]uint8, c.codes), make([]int32, c.rows), tr.depth)
		}()
	}
}

func BenchmarkWalk(b *testing.B) {
	r := rand.New(rand.NewPCG(9, 9))
	const rows = 2048
	codes := make([]uint8, rows*laneStride+4)
	for i := range codes {
		codes[i] = uint8(r.IntN(256))
	}
	exit := make([]int32, rows)
	for _, nfeat := range []int{8, 16} {
		tr := randomTree(r, 3500, nfeat)
		for _, k := range kernels() {
			b.Run(fmt.Sprintf("%s/%dfeatures", k.name, nfeat), func(b *testing.B) {
				for b.Loop() {
					k.walk(tr.packed, codes, exit, tr.depth)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows*tr.depth), "ns/step")
			})
		}
	}
}

// The leaf-mask sum gives the same bits with or without the SIMD kernel,
// for row counts that are not a multiple of eight too, and never writes
// past the n rows it was given.
func TestSumMasksKernelAgreesWithGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, nfeat := range []int{1, 5, 8} {
		for _, n := range []int{1, 8, 13, 256, 4128} {
			tr := randomTree(r, 1+r.IntN(64), nfeat)
			cols := make([]uint8, nfeat*n)
			for i := range cols {
				cols[i] = uint8(r.IntN(256))
			}
			want, got := make([]float64, n+1), make([]float64, n+1)
			sumMasksGo(tr, cols, n, n, make([]uint64, n), want[:n])
			sumMasks(tr, cols, n, n, make([]uint64, n), got[:n:n])
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%d features, %d rows: row %d sums to %v, want %v", nfeat, n, i, got[i], want[i])
				}
			}
		}
	}
}

// Scale comes before the layouts: layouts built after it agree with the
// plain walk of the scaled values, and a Scale once they exist panics.
func TestScaleComesBeforeTheLayouts(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, leaves := range []int{10, 300} {
		tr := randomTree(r, leaves, 4)
		tr.fast, tr.masks, tr.packed, tr.prepared = nil, nil, nil, false // as the grower leaves it
		plain := *tr
		plain.Values = slices.Clone(tr.Values)
		tr.Scale(0.25)
		tr.prepare()
		codes := make([]uint8, 32*laneStride+4)
		for i := range codes {
			codes[i] = uint8(r.IntN(256))
		}
		cols := make([]uint8, 4*32)
		for i := range 32 {
			for f := range 4 {
				cols[f*32+i] = codes[i*laneStride+f]
			}
		}
		acc := make([]float64, 32)
		if tr.masks != nil {
			sumMasks(tr, cols, 32, 32, make([]uint64, 32), acc)
		} else {
			sumWalked([]*Tree{tr}, codes, make([]int32, 32), 32, acc)
		}
		for i := range 32 {
			if want := plain.Predict(codes[i*laneStride:i*laneStride+4]) * 0.25; acc[i] != want {
				t.Fatalf("%d leaves, row %d: batch %v, the scaled walk %v", leaves, i, acc[i], want)
			}
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d leaves: Scale after the layouts did not panic", leaves)
				}
			}()
			tr.Scale(2)
		}()
	}
}

// One-row sums over the packed ensemble, with the SIMD kernel where there
// is one and the Go lanes, give SumRow's bits, for tree counts that fill
// lane groups partly.
func TestRowPackSumsLikeSumRow(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 7))
	for _, ntrees := range []int{1, 7, 33, 100} {
		for _, nfeat := range []int{3, 8, 32} {
			trees := make([]*Tree, ntrees)
			for k := range trees {
				trees[k] = randomTree(r, 1+r.IntN(400), nfeat)
			}
			rp := packRows(trees)
			if rp == nil {
				t.Fatalf("%d trees on %d features: not packed", ntrees, nfeat)
			}
			for range 50 {
				var codes [laneStride]uint8
				for j := range nfeat {
					codes[j] = uint8(r.IntN(256))
				}
				want := SumRow(trees, codes[:nfeat])
				for _, kernel := range []bool{rowKernel, false} {
					rowKernel = kernel
					if got := rp.sum(&codes); got != want {
						t.Fatalf("%d trees, %d features, kernel %v: %v, SumRow %v", ntrees, nfeat, kernel, got, want)
					}
				}
				rowKernel = hasRowKernel
			}
		}
	}
	wide := randomTree(r, 50, 40)
	if packRows([]*Tree{wide}) != nil && slices.ContainsFunc(wide.Nodes, func(n Node) bool { return n.Feature != leafFeature && n.Feature >= laneStride }) {
		t.Error("a tree on feature >= 32 was packed for rows")
	}
}
