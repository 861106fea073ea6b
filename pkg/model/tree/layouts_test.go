package tree

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// Every prediction layout, with every kernel this CPU runs, gives each
// tree's plain walk (Tree.Predict) bit for bit, for trees that each
// layout takes: a leaf, small trees (leaf masks), large ones (the packed
// walk), trees on features past 31 (stepped nodes only), and a deep chain.
// A kernel this CPU lacks is skipped by name.
func TestEveryLayoutAgreesWithPlainWalk(t *testing.T) {
	for name, why := range simd() {
		t.Run("kernel "+name, func(t *testing.T) {
			if why != "" {
				t.Skipf("%s: %s, so it is not tested here", name, why)
			}
		})
	}
	r := rand.New(rand.NewPCG(11, 12))
	const nfeat, rows = 40, 77
	trees := []*Tree{randomTree(r, 1, 8), randomTree(r, 20, 8), randomTree(r, 64, 30), randomTree(r, 65, 8),
		randomTree(r, 900, 32), randomTree(r, 300, nfeat), chain(200, 3)}
	for _, tr := range trees {
		tr.prepare()
	}
	var masked, walked, stepped int
	for _, tr := range trees {
		switch layout(tr) {
		case byMasks:
			masked++
		case byWalk:
			walked++
		default:
			stepped++
		}
	}
	if masked == 0 || walked == 0 || stepped == 0 {
		t.Fatalf("layouts covered: masks %d, walk %d, nodes %d", masked, walked, stepped)
	}
	codes := make([]uint8, rows*nfeat) // row-major
	for i := range codes {
		codes[i] = uint8(r.IntN(256))
	}
	row := func(i int) []uint8 { return codes[i*nfeat : (i+1)*nfeat] }
	cols := make([]uint8, nfeat*rows) // column-major
	lanes := make([]uint8, 96*laneStride+4)
	for i := range rows {
		for j := range nfeat {
			cols[j*rows+i] = row(i)[j]
			if j < laneStride {
				lanes[i*laneStride+j] = row(i)[j]
			}
		}
	}
	for k, tr := range trees {
		want := make([]float64, rows)
		for i := range rows {
			want[i] = tr.Predict(row(i))
		}
		check := func(layout string, got []float64) {
			t.Helper()
			for i := range rows {
				if got[i] != want[i] {
					t.Fatalf("tree %d (%d leaves), %s: row %d gives %v, the plain walk %v", k, tr.NumLeaves(), layout, i, got[i], want[i])
				}
			}
		}
		// Stepped nodes: one row (SumRow), a batch of rows (sumBlock).
		one := make([]float64, rows)
		for i := range rows {
			one[i] = SumRow([]*Tree{tr}, row(i))
		}
		check("stepped nodes, one row", one)
		blk := make([]float64, rows)
		nodesOnly := *tr
		nodesOnly.masks = nil // sumBlock leaves masked trees to sumMasks
		sumBlock([]*Tree{&nodesOnly}, codes, nfeat, rows, blk)
		check("stepped nodes, a block", blk)
		if tr.masks != nil {
			for name, sum := range map[string]func([]float64){
				"leaf masks, go":     func(acc []float64) { sumMasksGo(tr, cols, rows, rows, make([]uint64, rows), acc) },
				"leaf masks, kernel": func(acc []float64) { sumMasks(tr, cols, rows, rows, make([]uint64, rows), acc) },
			} {
				acc := make([]float64, rows)
				sum(acc)
				check(name, acc)
			}
		}
		if tr.packed != nil {
			for _, kn := range kernels() {
				exit := make([]int32, 96)
				kn.walk(tr.packed, lanes, exit, tr.depth)
				got := make([]float64, rows)
				for i := range rows {
					got[i] = tr.packed.value[exit[i]]
				}
				check("packed walk, "+kn.name, got)
			}
		}
		if rp := packRows([]*Tree{tr}); rp != nil {
			for _, kernel := range []bool{rowKernel, false} {
				rowKernel = kernel
				got := make([]float64, rows)
				for i := range rows {
					var rc [laneStride]uint8
					copy(rc[:], row(i))
					got[i] = rp.sum(&rc)
				}
				check("row pack", got)
			}
			rowKernel = hasRowKernel
		} else if !slices.ContainsFunc(tr.Nodes, func(n Node) bool { return n.Feature != leafFeature && n.Feature >= laneStride }) {
			t.Errorf("tree %d: not packed for rows, and every feature is below %d", k, laneStride)
		}
	}
}
