package tree

// The prediction layout: the same nodes, but a leaf has feature 0 and
// adv 0 so that a step from it stays on it, and an internal node has adv 1.
// A step is then arithmetic without a data-dependent branch:
//
//	next = i + adv*(1 + right?*(Right-i-1))
//
// and a tree is walked in exactly Depth steps. Walking several independent
// lanes (rows or trees) at once keeps the CPU busy instead of waiting on
// mispredicted branches.
type fastNode struct {
	Right   int32
	Feature uint16
	Bin     uint8
	Adv     uint8
}

func b2i(b bool) int32 {
	var i int32
	if b {
		i = 1
	}
	return i
}

// step advances one lane from node i for a row's codes.
func step(nodes []fastNode, i int32, codes []uint8) int32 {
	n := nodes[i]
	right := b2i(codes[n.Feature] > n.Bin)
	return i + int32(n.Adv)*(1+right*(n.Right-i-1))
}

// stepAdv is step that also returns the node's Adv: 0 when lane i already
// sat on a leaf.
func stepAdv(nodes []fastNode, i int32, codes []uint8) (int32, uint8) {
	n := nodes[i]
	right := b2i(codes[n.Feature] > n.Bin)
	return i + int32(n.Adv)*(1+right*(n.Right-i-1)), n.Adv
}

// SumRow adds up every tree's leaf value for one row of codes, walking
// eight trees at a time, then four.
func SumRow(trees []*Tree, codes []uint8) float64 {
	var s float64
	k := 0
	for ; k+8 <= len(trees); k += 8 {
		t := trees[k : k+8 : k+8]
		n0, n1, n2, n3 := t[0].fast, t[1].fast, t[2].fast, t[3].fast
		n4, n5, n6, n7 := t[4].fast, t[5].fast, t[6].fast, t[7].fast
		var i0, i1, i2, i3, i4, i5, i6, i7 int32
		d := max(t[0].depth, t[1].depth, t[2].depth, t[3].depth, t[4].depth, t[5].depth, t[6].depth, t[7].depth)
		for range d {
			i0 = step(n0, i0, codes)
			i1 = step(n1, i1, codes)
			i2 = step(n2, i2, codes)
			i3 = step(n3, i3, codes)
			i4 = step(n4, i4, codes)
			i5 = step(n5, i5, codes)
			i6 = step(n6, i6, codes)
			i7 = step(n7, i7, codes)
		}
		s += t[0].Values[n0[i0].Right]
		s += t[1].Values[n1[i1].Right]
		s += t[2].Values[n2[i2].Right]
		s += t[3].Values[n3[i3].Right]
		s += t[4].Values[n4[i4].Right]
		s += t[5].Values[n5[i5].Right]
		s += t[6].Values[n6[i6].Right]
		s += t[7].Values[n7[i7].Right]
	}
	for ; k+4 <= len(trees); k += 4 {
		t0, t1, t2, t3 := trees[k], trees[k+1], trees[k+2], trees[k+3]
		n0, n1, n2, n3 := t0.fast, t1.fast, t2.fast, t3.fast
		var i0, i1, i2, i3 int32
		d := max(t0.depth, t1.depth, t2.depth, t3.depth)
		for range d {
			i0 = step(n0, i0, codes)
			i1 = step(n1, i1, codes)
			i2 = step(n2, i2, codes)
			i3 = step(n3, i3, codes)
		}
		s += t0.Values[n0[i0].Right]
		s += t1.Values[n1[i1].Right]
		s += t2.Values[n2[i2].Right]
		s += t3.Values[n3[i3].Right]
	}
	for ; k < len(trees); k++ {
		t := trees[k]
		var i int32
		for range t.depth {
			i = step(t.fast, i, codes)
		}
		s += t.Values[t.fast[i].Right]
	}
	return s
}

// sumBlock adds each walked tree's value (those without leaf masks) to
// acc[r] for the n rows of a row-major block of codes (p per row),
// walking eight rows at a time, then four.
func sumBlock(trees []*Tree, codes []uint8, p, n int, acc []float64) {
	for _, t := range trees {
		if t.masks != nil {
			continue // summed by sumMasks
		}
		nodes, vals, d := t.fast, t.Values, t.depth
		r := 0
		for ; r+8 <= n; r += 8 {
			c := codes[r*p : (r+8)*p : (r+8)*p]
			c0, c1, c2, c3 := c[0:p], c[p:2*p], c[2*p:3*p], c[3*p:4*p]
			c4, c5, c6, c7 := c[4*p:5*p], c[5*p:6*p], c[6*p:7*p], c[7*p:8*p]
			var i0, i1, i2, i3, i4, i5, i6, i7 int32
			var a0, a1, a2, a3, a4, a5, a6, a7 uint8
			for range d + 1 {
				i0, a0 = stepAdv(nodes, i0, c0)
				i1, a1 = stepAdv(nodes, i1, c1)
				i2, a2 = stepAdv(nodes, i2, c2)
				i3, a3 = stepAdv(nodes, i3, c3)
				i4, a4 = stepAdv(nodes, i4, c4)
				i5, a5 = stepAdv(nodes, i5, c5)
				i6, a6 = stepAdv(nodes, i6, c6)
				i7, a7 = stepAdv(nodes, i7, c7)
				// Stop once every lane sat on a leaf (adv 0).
				if a0|a1|a2|a3|a4|a5|a6|a7 == 0 {
					break
				}
			}
			acc[r] += vals[nodes[i0].Right]
			acc[r+1] += vals[nodes[i1].Right]
			acc[r+2] += vals[nodes[i2].Right]
			acc[r+3] += vals[nodes[i3].Right]
			acc[r+4] += vals[nodes[i4].Right]
			acc[r+5] += vals[nodes[i5].Right]
			acc[r+6] += vals[nodes[i6].Right]
			acc[r+7] += vals[nodes[i7].Right]
		}
		for ; r+4 <= n; r += 4 {
			c0, c1, c2, c3 := codes[r*p:(r+1)*p], codes[(r+1)*p:(r+2)*p], codes[(r+2)*p:(r+3)*p], codes[(r+3)*p:(r+4)*p]
			var i0, i1, i2, i3 int32
			for range d {
				i0 = step(nodes, i0, c0)
				i1 = step(nodes, i1, c1)
				i2 = step(nodes, i2, c2)
				i3 = step(nodes, i3, c3)
			}
			acc[r] += vals[nodes[i0].Right]
			acc[r+1] += vals[nodes[i1].Right]
			acc[r+2] += vals[nodes[i2].Right]
			acc[r+3] += vals[nodes[i3].Right]
		}
		for ; r < n; r++ {
			c := codes[r*p : (r+1)*p]
			var i int32
			for range d {
				i = step(nodes, i, c)
			}
			acc[r] += vals[nodes[i].Right]
		}
	}
}
