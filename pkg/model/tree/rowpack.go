package tree

// rowPack is a whole ensemble in the packed layout for one-row
// prediction: every tree's nodes in one array (right offsets are
// relative, so they hold), so eight trees step side by side through one
// slice against one row's codes.
type rowPack struct {
	nodes []uint32
	value []float64 // leaf values by node index
	roots []int32   // each tree's first node
	depth []int     // the deepest tree of each group of eight
	// padded is roots up to a multiple of 32, the rest pointing at a
	// leaf of value 0 after the last tree, for rowKernel; maxDepth is the
	// deepest tree's depth.
	padded   []int32
	maxDepth int
}

// maxRowTrees bounds the ensembles rowKernel takes (its exit indices live
// on the stack).
const maxRowTrees = 512

// packRows returns nil when some tree does not fit the packed layout. The
// trees' own packed layouts (for batches) become views of its arrays, so
// the ensemble keeps one copy of them.
func packRows(trees []*Tree) *rowPack {
	ps := make([]*packed, len(trees))
	total := 1 // and the padding leaf
	for k, t := range trees {
		if ps[k] = t.packed; ps[k] == nil {
			if ps[k] = packTree(t); ps[k] == nil {
				return nil
			}
		}
		total += len(ps[k].nodes)
	}
	rp := &rowPack{nodes: make([]uint32, 0, total), value: make([]float64, 0, total)}
	for k, t := range trees {
		p := ps[k]
		if k%8 == 0 {
			rp.depth = append(rp.depth, 0)
		}
		rp.depth[k/8] = max(rp.depth[k/8], t.depth)
		rp.maxDepth = max(rp.maxDepth, t.depth)
		root := len(rp.nodes)
		rp.roots = append(rp.roots, int32(root))
		rp.nodes = append(rp.nodes, p.nodes...)
		rp.value = append(rp.value, p.value...)
		if t.packed != nil {
			end := len(rp.nodes)
			t.packed.nodes = rp.nodes[root:end:end]
			t.packed.value = rp.value[root:end:end]
		}
	}
	pad := int32(len(rp.nodes))
	rp.nodes = append(rp.nodes, 255<<16) // a leaf: bin 255, increment 0
	rp.value = append(rp.value, 0)
	rp.padded = append(rp.padded, rp.roots...)
	for len(rp.padded)%32 != 0 {
		rp.padded = append(rp.padded, pad)
	}
	return rp
}

// sum adds up every tree's leaf value for one row's codes, in tree order
// (the order SumRow and the batches add in, so the bits agree).
func (rp *rowPack) sum(codes *[laneStride]uint8) float64 {
	nodes, value, roots := rp.nodes, rp.value, rp.roots
	var s float64
	if rowKernel && len(rp.padded) <= maxRowTrees {
		var wide [laneStride]uint32
		for j, c := range codes {
			wide[j] = uint32(c)
		}
		var exit [maxRowTrees]int32
		rowWalk(rp, &wide, exit[:len(rp.padded)])
		for _, x := range exit[:len(roots)] {
			s += value[x]
		}
		return s
	}
	for g, d := range rp.depth {
		r := roots[8*g : min(8*g+8, len(roots))]
		var i [8]int32
		copy(i[:], r)
		i0, i1, i2, i3, i4, i5, i6, i7 := i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]
		for range d {
			i0 = stepRow(nodes, i0, codes)
			i1 = stepRow(nodes, i1, codes)
			i2 = stepRow(nodes, i2, codes)
			i3 = stepRow(nodes, i3, codes)
			i4 = stepRow(nodes, i4, codes)
			i5 = stepRow(nodes, i5, codes)
			i6 = stepRow(nodes, i6, codes)
			i7 = stepRow(nodes, i7, codes)
		}
		i = [8]int32{i0, i1, i2, i3, i4, i5, i6, i7}
		for _, x := range i[:len(r)] {
			s += value[x]
		}
	}
	return s
}

// stepRow advances one tree's lane from node i for a row's codes.
func stepRow(nodes []uint32, i int32, codes *[laneStride]uint8) int32 {
	v := nodes[i]
	right := -b2i(codes[uint8(v>>24)&(laneStride-1)] > uint8(v>>16))
	inc := int32(v>>15) & 1
	return i + inc + (int32(v&0x7FFF)-inc)&right
}
