package tree

import "math/bits"

// leafMasks evaluates a tree of at most 64 leaves without walking it (the
// QuickScorer idea, with bin codes as the index). Leaves are numbered left
// to right; a node on feature f that sends code c right (above its split
// bin; outside its category set; missing where it learned right) rules
// out every leaf of its left subtree for c. For each used feature,
// mask[c] is the AND of the complements of those left subtrees over all
// nodes on f that send c right, so a row's reachable leaves are the AND
// over the features of mask[code], and its exit leaf is the lowest set
// bit: eight loads and ANDs per tree instead of a walk. Any split a node
// can make is a table, so the masks are exact for category sets and
// learned missing directions too.
type leafMasks struct {
	feats  []uint16
	masks  [][MaxBins]uint64
	leaves [64]int32   // Values index by leaf number
	value  [64]float64 // leaf value by leaf number
	top    int         // the largest feature in feats
}

// buildLeafMasks returns nil for a tree of more than 64 leaves.
func buildLeafMasks(t *Tree) *leafMasks {
	if len(t.Values) > 64 {
		return nil
	}
	lm := &leafMasks{}
	slot := map[uint16]int{}
	// walk numbers the leaves in preorder and returns the leaf range
	// [lo, hi) below node i.
	var walk func(i int32, next int) int
	walk = func(i int32, next int) int {
		n := t.Nodes[i]
		if n.Feature == leafFeature {
			lm.leaves[next] = n.Right
			return next + 1
		}
		mid := walk(i+1, next)
		end := walk(n.Right, mid)
		k, ok := slot[n.Feature]
		if !ok {
			k = len(lm.feats)
			slot[n.Feature] = k
			lm.feats = append(lm.feats, n.Feature)
			var all [MaxBins]uint64
			for c := range all {
				all[c] = ^uint64(0)
			}
			lm.masks = append(lm.masks, all)
		}
		left := (uint64(1)<<(mid-next) - 1) << next
		for c := range MaxBins {
			if !t.left(i, n, uint8(c)) {
				lm.masks[k][c] &^= left
			}
		}
		return end
	}
	nleaves := walk(0, 0)
	for _, f := range lm.feats {
		lm.top = max(lm.top, int(f))
	}
	for i := range nleaves {
		lm.value[i] = t.Values[lm.leaves[i]]
	}
	return lm
}

// sumMasks adds the tree's value to acc[r] for n rows of column-major
// codes (feature f's codes at cols[f*stride:]), t.masks being set. One
// pass per feature ANDs its table into m, scratch of at least n words.
// Where there is a SIMD kernel, it takes the rows eight at a time and the
// last n%8 rows are summed one by one.
func sumMasks(t *Tree, cols []uint8, stride, n int, m []uint64, acc []float64) {
	lm := t.masks
	g := n / 8
	if masksKernel == nil || len(lm.feats) == 0 || g == 0 {
		sumMasksGo(t, cols, stride, n, m, acc)
		return
	}
	_ = cols[lm.top*stride+n-1] // every column the kernel reads is in range
	_ = acc[n-1]
	masksKernel(lm, cols, stride, acc, g)
	for r := 8 * g; r < n; r++ {
		w := ^uint64(0)
		for k, f := range lm.feats {
			w &= lm.masks[k][cols[int(f)*stride+r]]
		}
		acc[r] += lm.value[bits.TrailingZeros64(w)&63]
	}
}

// sumMasksGo is the portable sumMasks.
func sumMasksGo(t *Tree, cols []uint8, stride, n int, m []uint64, acc []float64) {
	lm, vals := t.masks, t.Values
	m, acc = m[:n], acc[:n]
	if len(lm.feats) == 0 {
		v := vals[lm.leaves[0]]
		for r := range acc {
			acc[r] += v
		}
		return
	}
	for k, f := range lm.feats {
		tab := &lm.masks[k]
		col := cols[int(f)*stride : int(f)*stride+n]
		if k == 0 {
			for r, c := range col {
				m[r] = tab[c]
			}
			continue
		}
		for r, c := range col {
			m[r] &= tab[c]
		}
	}
	leaves := &lm.leaves
	for r, w := range m {
		acc[r] += vals[leaves[bits.TrailingZeros64(w)&63]]
	}
}
