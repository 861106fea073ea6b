package tree

import (
	"encoding/binary"
	"fmt"

	"github.com/housectl/housectl/pkg/model"
)

// leafFeature marks a leaf node.
const leafFeature = 0xFFFF

// Node is one tree node, 8 bytes. Internal: rows with code <= Bin of
// Feature go to the left child at i+1, the others to Right; a missing
// value (MissingCode) goes left when Flags has MissingLeft, else right.
// A category split (Flags has CategorySet) sends left the codes of its
// set in Tree.Sets instead, the missing code among them when it learned
// so. Leaf: Feature is 0xFFFF and Right indexes Tree.Values.
type Node struct {
	Right   int32
	Feature uint16
	Bin     uint8
	Flags   uint8
}

// The Node flags. Models written before flags existed have none: missing
// values went right and every split was a threshold.
const (
	// MissingLeft sends missing values left at a threshold split.
	MissingLeft = 1
	// CategorySet makes the node a split on a set of categories.
	CategorySet = 2
)

// CatSet is a set of bin codes (a category's code is its label index),
// bit c of word c/64 for code c; bit 255 is the missing code.
type CatSet [4]uint64

// Has reports whether code c is in the set.
func (s *CatSet) Has(c uint8) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// Add puts code c in the set.
func (s *CatSet) Add(c uint8) { s[c>>6] |= 1 << (c & 63) }

// Tree is a fitted regression tree in preorder.
type Tree struct {
	Nodes  []Node
	Values []float64
	// Sets are the left sets of the category splits, in preorder;
	// setAt[i] is node i's index into them (nil without category splits).
	Sets  []CatSet
	setAt []int32

	fast []fastNode // prediction layout, built by prepare
	// packed is the walked layout for batches (nil when the tree does not
	// fit it or has leaf masks).
	packed *packed
	depth  int
	masks  *leafMasks // batch layout for trees of <= 64 leaves, or nil
	// prepared: the layouts are built (prepare), the tree is final.
	prepared bool
}

// left reports whether code c goes to the left child of node i.
func (t *Tree) left(i int32, n Node, c uint8) bool {
	switch {
	case n.Flags == 0:
		return c <= n.Bin // MissingCode is above every Bin: right
	case n.Flags&CategorySet != 0:
		return t.Sets[t.setAt[i]].Has(c)
	case c == MissingCode:
		return true // MissingLeft
	}
	return c <= n.Bin
}

// indexSets numbers the category splits' sets in preorder (setAt).
func (t *Tree) indexSets() {
	if len(t.Sets) == 0 {
		t.setAt = nil
		return
	}
	t.setAt = make([]int32, len(t.Nodes))
	k := int32(0)
	for i, n := range t.Nodes {
		if n.Feature != leafFeature && n.Flags&CategorySet != 0 {
			t.setAt[i] = k
			k++
		}
	}
}

// HasSets reports whether the tree splits on category sets, which only
// the plain walk and leaf masks evaluate.
func (t *Tree) HasSets() bool { return len(t.Sets) > 0 }

// Predict walks the tree with a row's bin codes.
func (t *Tree) Predict(codes []uint8) float64 {
	nodes := t.Nodes
	i := int32(0)
	for {
		n := nodes[i]
		if n.Feature == leafFeature {
			return t.Values[n.Right]
		}
		if t.left(i, n, codes[n.Feature]) {
			i++
		} else {
			i = n.Right
		}
	}
}

// PredictColumnar returns the leaf value for row r of column-major codes
// with n rows.
func (t *Tree) PredictColumnar(codes []uint8, n, r int) float64 {
	nodes := t.Nodes
	i := int32(0)
	for {
		nd := nodes[i]
		if nd.Feature == leafFeature {
			return t.Values[nd.Right]
		}
		if t.left(i, nd, codes[int(nd.Feature)*n+r]) {
			i++
		} else {
			i = nd.Right
		}
	}
}

// prepare builds the tree's prediction layouts from its nodes and final
// values: stepped nodes always, and leaf masks or the packed walk for
// batches (idempotent; Ensemble.Prepare calls it). A tree with category
// splits gets leaf masks only, which evaluate any split; the other
// layouts compare against a threshold.
func (t *Tree) prepare() {
	if t.prepared {
		return
	}
	t.prepared = true
	t.depth = t.Depth()
	if t.HasSets() {
		t.masks = buildLeafMasks(t)
		return
	}
	t.fast = make([]fastNode, len(t.Nodes))
	for i, n := range t.Nodes {
		if n.Feature == leafFeature {
			t.fast[i] = fastNode{Right: n.Right}
		} else {
			t.fast[i] = fastNode{Right: n.Right, Feature: n.Feature, Bin: n.Bin, Adv: 1}
		}
	}
	t.masks = buildLeafMasks(t)
	if t.masks == nil {
		t.packed = packTree(t)
	}
}

// Scale multiplies every leaf value by f (boosting's learning rate). It
// must come before the layouts are built (Ensemble.Prepare): they are made
// from the final values, once, and Scale panics after it, which would
// leave them stale.
func (t *Tree) Scale(f float64) {
	if t.prepared {
		panic("tree: Scale after the prediction layouts were built")
	}
	for i := range t.Values {
		t.Values[i] *= f
	}
}

// NumLeaves is the number of leaves.
func (t *Tree) NumLeaves() int { return len(t.Values) }

// Depth is the longest root-to-leaf path (a single leaf has depth 0).
func (t *Tree) Depth() int {
	var walk func(i int32) int
	walk = func(i int32) int {
		n := t.Nodes[i]
		if n.Feature == leafFeature {
			return 0
		}
		return 1 + max(walk(i+1), walk(n.Right))
	}
	return walk(0)
}

// AppendBinary appends the tree: node count, nodes (8 bytes each),
// values, then the set of each category split in preorder (32 bytes each,
// as many as the nodes flagged CategorySet, so a tree without them reads
// as before).
func (t *Tree) AppendBinary(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(t.Nodes)))
	for _, n := range t.Nodes {
		b = binary.LittleEndian.AppendUint32(b, uint32(n.Right))
		b = binary.LittleEndian.AppendUint16(b, n.Feature)
		b = append(b, n.Bin, n.Flags)
	}
	b = model.AppendFloats(b, t.Values)
	for _, s := range t.Sets {
		for _, w := range s {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
	}
	return b
}

// ReadTree reads a tree written by AppendBinary and checks that it is well
// formed for nfeat features: every index in range, every path ending in a
// leaf, no cycle.
func ReadTree(r *model.Reader, nfeat int) (*Tree, error) {
	nn := r.Int(1 << 26)
	raw := r.Bytes(8 * nn)
	if raw == nil {
		return nil, r.Err()
	}
	t := &Tree{Nodes: make([]Node, nn)}
	for i := range t.Nodes {
		o := raw[8*i:]
		t.Nodes[i] = Node{Right: int32(binary.LittleEndian.Uint32(o)), Feature: binary.LittleEndian.Uint16(o[4:]), Bin: o[6], Flags: o[7]}
	}
	t.Values = r.Floats(1 << 26)
	if r.Err() != nil {
		return nil, r.Err()
	}
	if nn == 0 {
		return nil, fmt.Errorf("empty tree")
	}
	nsets := 0
	for i, n := range t.Nodes {
		if n.Feature == leafFeature {
			if n.Right < 0 || int(n.Right) >= len(t.Values) {
				return nil, fmt.Errorf("node %d: leaf value %d out of range", i, n.Right)
			}
			continue
		}
		if int(n.Feature) >= nfeat || int(n.Right) <= i+1 || int(n.Right) >= nn || i+1 >= nn {
			return nil, fmt.Errorf("node %d: bad feature %d or child %d", i, n.Feature, n.Right)
		}
		if n.Flags&^(MissingLeft|CategorySet) != 0 {
			return nil, fmt.Errorf("node %d: flags %#x this housectl does not know: a newer housectl wrote the model", i, n.Flags)
		}
		if n.Flags&CategorySet != 0 {
			nsets++
		}
	}
	if nsets > 0 {
		raw := r.Bytes(32 * nsets)
		if raw == nil {
			return nil, fmt.Errorf("%d category splits without their sets: %w", nsets, r.Err())
		}
		t.Sets = make([]CatSet, nsets)
		for k := range t.Sets {
			for w := range t.Sets[k] {
				t.Sets[k][w] = binary.LittleEndian.Uint64(raw[32*k+8*w:])
			}
		}
		t.indexSets()
	}
	return t, nil
}
