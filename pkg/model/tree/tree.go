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
// Leaf: Feature is 0xFFFF and Right indexes Tree.Values.
type Node struct {
	Right   int32
	Feature uint16
	Bin     uint8
	Flags   uint8
}

// MissingLeft is the Node flag that sends missing values left. Models
// written before flags existed have none: missing went right.
const MissingLeft = 1

// left reports whether a code goes to the node's left child.
func (n Node) left(c uint8) bool {
	if c == MissingCode {
		return n.Flags&MissingLeft != 0
	}
	return c <= n.Bin
}

// Tree is a fitted regression tree in preorder.
type Tree struct {
	Nodes  []Node
	Values []float64

	fast []fastNode // prediction layout, built by prepare
	// packed is the walked layout for batches (nil when the tree does not
	// fit it or has leaf masks).
	packed *packed
	depth  int
	masks  *leafMasks // batch layout for trees of <= 64 leaves, or nil
}

// Predict walks the tree with a row's bin codes.
func (t *Tree) Predict(codes []uint8) float64 {
	nodes := t.Nodes
	i := int32(0)
	for {
		n := nodes[i]
		if n.Feature == leafFeature {
			return t.Values[n.Right]
		}
		if n.left(codes[n.Feature]) {
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
		if nd.left(codes[int(nd.Feature)*n+r]) {
			i++
		} else {
			i = nd.Right
		}
	}
}

// prepare builds the tree's prediction layouts from its nodes and final
// values: stepped nodes always, and leaf masks or the packed walk for
// batches (idempotent; Ensemble.Prepare calls it).
func (t *Tree) prepare() {
	if t.fast != nil {
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
	t.depth = t.Depth()
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
	if t.fast != nil {
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

// AppendBinary appends the tree: node count, nodes (8 bytes each), values.
func (t *Tree) AppendBinary(b []byte) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(t.Nodes)))
	for _, n := range t.Nodes {
		b = binary.LittleEndian.AppendUint32(b, uint32(n.Right))
		b = binary.LittleEndian.AppendUint16(b, n.Feature)
		b = append(b, n.Bin, n.Flags)
	}
	return model.AppendFloats(b, t.Values)
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
		if n.Flags&^MissingLeft != 0 {
			return nil, fmt.Errorf("node %d: flags %#x this housectl does not know: a newer housectl wrote the model", i, n.Flags)
		}
	}
	return t, nil
}
