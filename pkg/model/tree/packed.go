package tree

// The packed walk, for batches. A block of rows is laid out with each row's codes
// laneStride bytes apart, and a tree whose features are all below
// laneStride and whose right children sit less than 1<<15 nodes after
// their parents is packed into one 32-bit word per node:
//
//	bits  0–14  right child index minus the node's own (0 on a leaf)
//	bit     15  left increment: 1, or 0 on a leaf
//	bits 16–23  split bin (255 on a leaf, so no row goes right)
//	bits 24–31  feature
//
// A step from node i is then the same for every node,
//
//	i += code[feature] > bin ? right offset : left increment
//
// and a leaf keeps its rows in place. Every row takes exactly Depth steps
// and ends on its leaf with no branch on the data, which is what lets the
// steps of many rows run side by side: eight rows at a time in Go, or 16
// and 32 in the SIMD kernels of walk_amd64.s, which gather nodes (and
// codes) by index.

// laneStride is the distance between rows' codes in a walked block.
const laneStride = 32

// laneGroup is the number of rows a walked block is padded to a multiple of.
const laneGroup = 32

// packed is a tree in the walked layout.
type packed struct {
	nodes []uint32
	value []float64 // a leaf's value at its node index (0 elsewhere)
	// narrow trees split on features 0–7 only (a faster kernel).
	narrow bool
}

// packTree returns nil when the tree does not fit the layout.
func packTree(t *Tree) *packed {
	p := &packed{nodes: make([]uint32, len(t.Nodes)), value: make([]float64, len(t.Nodes)), narrow: true}
	for i, n := range t.Nodes {
		if n.Feature == leafFeature {
			p.nodes[i] = 255 << 16
			p.value[i] = t.Values[n.Right]
			continue
		}
		off := int(n.Right) - i
		// ReadTree and the grower guarantee 1 < off and i+off < len; the
		// kernels rely on it, so it is checked again here.
		if n.Feature >= laneStride || off <= 1 || off >= 1<<15 || i+off >= len(t.Nodes) {
			return nil
		}
		p.nodes[i] = uint32(off) | 1<<15 | uint32(n.Bin)<<16 | uint32(n.Feature)<<24
		p.narrow = p.narrow && n.Feature < 8
	}
	return p
}

// walkRows sets exit[r] to the leaf node that row r of codes reaches in
// depth steps from the root. len(exit) must be a multiple of laneGroup and
// codes hold len(exit)*laneStride+4 bytes laid out as above (the SIMD
// kernels read four bytes at a time).
func walkRows(p *packed, codes []uint8, exit []int32, depth int) {
	if len(exit)%laneGroup != 0 || len(codes) < len(exit)*laneStride+4 {
		panic("tree: walkRows: bad block shape")
	}
	if len(exit) == 0 {
		return
	}
	walkImpl(p, codes, exit, depth)
}

// walkGo is the portable walk, eight rows at a time.
func walkGo(p *packed, codes []uint8, exit []int32, depth int) {
	nodes := p.nodes
	for r := 0; r+8 <= len(exit); r += 8 {
		blk := (*[8 * laneStride]uint8)(codes[r*laneStride:])
		var i0, i1, i2, i3, i4, i5, i6, i7 int32
		for range depth {
			i0 = stepPacked(nodes, i0, blk, 0)
			i1 = stepPacked(nodes, i1, blk, 1)
			i2 = stepPacked(nodes, i2, blk, 2)
			i3 = stepPacked(nodes, i3, blk, 3)
			i4 = stepPacked(nodes, i4, blk, 4)
			i5 = stepPacked(nodes, i5, blk, 5)
			i6 = stepPacked(nodes, i6, blk, 6)
			i7 = stepPacked(nodes, i7, blk, 7)
		}
		e := exit[r : r+8 : r+8]
		e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7] = i0, i1, i2, i3, i4, i5, i6, i7
	}
}

// stepPacked advances lane k of a group of eight rows from node i.
func stepPacked(nodes []uint32, i int32, blk *[8 * laneStride]uint8, k uint8) int32 {
	v := nodes[i]
	right := -b2i(blk[k*laneStride|uint8(v>>24)&(laneStride-1)] > uint8(v>>16))
	inc := int32(v>>15) & 1
	return i + inc + (int32(v&0x7FFF)-inc)&right
}

// sumWalked adds each packed tree's leaf value to acc[r] for the first n
// rows of a block laid out for walkRows, in tree order. exit is scratch
// as long as the padded block.
func sumWalked(trees []*Tree, codes []uint8, exit []int32, n int, acc []float64) {
	acc = acc[:n]
	for _, t := range trees {
		walkRows(t.packed, codes, exit, t.depth)
		value := t.packed.value
		for r, a := range acc {
			acc[r] = a + value[exit[r]]
		}
	}
}
