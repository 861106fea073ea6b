package tree

import (
	"sync"

	"github.com/housectl/housectl/pkg/model"
)

// predictBlocks sums trees over many rows fast: rows are binned in blocks,
// and each tree is applied to a whole block before the next (it stays in
// cache); blocks are shared among workers. The sum for each row is taken
// in tree order, so results do not depend on the workers or the layouts.
func predictBlocks(e *Ensemble, X model.Matrix, dst []float64, workers int) {
	b, trees, base, scale := e.Binner, e.Trees, e.Base, e.Scale
	workers = max(1, workers)
	var walked, plain bool
	for _, t := range trees {
		walked = walked || t.packed != nil
		plain = plain || layout(t) == byNodes || layout(t) == byTree
	}
	// Leaf masks work best on blocks whose scratch stays in L1. A walked
	// tree is fetched into cache once per block, so those take one block
	// per worker, up to 4,096 rows.
	block := 256
	if walked || plain {
		block = min(4096, (X.Rows+workers-1)/workers)
		block = max(laneGroup, (block+laneGroup-1)/laneGroup*laneGroup)
	}
	nblocks := (X.Rows + block - 1) / block
	work := make(chan int, nblocks)
	for i := range nblocks {
		work <- i
	}
	close(work)
	nraw, p := X.Cols, len(b.Edges)
	run := func() {
		cols := make([]uint8, p*block) // column-major within the block
		var codes, lanes []uint8
		var exit []int32
		if plain {
			codes = make([]uint8, block*p) // row-major, for sumBlock
		}
		if walked {
			lanes = make([]uint8, block*laneStride+4) // for walkRows
			exit = make([]int32, block)
		}
		acc := make([]float64, block)
		m := make([]uint64, block)
		var u, v []float64
		if len(e.Rotations) > 0 {
			u, v = make([]float64, block), make([]float64, block)
		}
		for bi := range work {
			start := bi * block
			n := min(block, X.Rows-start)
			for j := range nraw {
				col, dst := X.Col(j)[start:start+n], cols[j*block:j*block+n]
				for i, x := range col {
					dst[i] = b.Code(j, x)
				}
			}
			for k, r := range e.Rotations {
				a, c := X.Col(r.A)[start:start+n], X.Col(r.B)[start:start+n]
				for i := range a {
					u[i], v[i] = r.Apply(a[i], c[i])
				}
				j := nraw + 2*k
				for i := range n {
					cols[j*block+i] = b.Code(j, u[i])
					cols[(j+1)*block+i] = b.Code(j+1, v[i])
				}
			}
			if plain {
				for j := range p {
					for i, c := range cols[j*block : j*block+n] {
						codes[i*p+j] = c
					}
				}
			}
			npad := (n + laneGroup - 1) / laneGroup * laneGroup
			if walked {
				for j := range min(p, laneStride) {
					for i, c := range cols[j*block : j*block+n] {
						lanes[i*laneStride+j] = c
					}
				}
			}
			clear(acc[:n])
			// Trees are added in order whatever their layout, so the sum
			// has the same bits as Predict's.
			for k := 0; k < len(trees); {
				e := k + 1
				for e < len(trees) && layout(trees[e]) == layout(trees[k]) {
					e++
				}
				switch layout(trees[k]) {
				case byMasks:
					for _, t := range trees[k:e] {
						sumMasks(t, cols, block, n, m, acc)
					}
				case byWalk:
					sumWalked(trees[k:e], lanes[:npad*laneStride+4], exit[:npad], n, acc)
				case byTree:
					for _, t := range trees[k:e] {
						for r := range n {
							acc[r] += t.PredictColumnar(cols, block, r)
						}
					}
				default:
					sumBlock(trees[k:e], codes, p, n, acc[:n])
				}
				k = e
			}
			if e.missLeft {
				missingRows(e.Trees, cols, block, n, p, acc)
			}
			for r := range n {
				dst[start+r] = base + acc[r]*scale
			}
		}
	}
	workers = min(workers, nblocks)
	if workers == 1 {
		run()
		return
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(run)
	}
	wg.Wait()
}

// The ways predictBlocks sums a tree.
const (
	byMasks = iota // leaf masks (at most 64 leaves)
	byWalk         // the packed walk
	byNodes        // the eight-lane walk over nodes, for the rest
	byTree         // the plain walk, for large trees with category sets
)

func layout(t *Tree) int {
	switch {
	case t.masks != nil:
		return byMasks
	case t.packed != nil:
		return byWalk
	case t.HasSets():
		return byTree
	}
	return byNodes
}

// missingRows sums again, walking the nodes, the rows of a block that have
// a missing value: the fast layouts sent it right where a split learned to
// send it left. The trees are added in order, as everywhere.
func missingRows(trees []*Tree, cols []uint8, block, n, p int, acc []float64) {
	for r := range n {
		missing := false
		for j := range p {
			if cols[j*block+r] == MissingCode {
				missing = true
				break
			}
		}
		if !missing {
			continue
		}
		var s float64
		for _, t := range trees {
			s += t.PredictColumnar(cols, block, r)
		}
		acc[r] = s
	}
}
