package tree

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
)

// Params control how a tree grows.
type Params struct {
	// MaxDepth limits the depth; 0 means unlimited.
	MaxDepth int
	// MaxLeaves grows best-first up to this many leaves; 0 grows depth-first
	// without a leaf limit.
	MaxLeaves int
	// MinSamplesLeaf is the least weight (sample count) a leaf may have.
	MinSamplesLeaf float64
	// MinSamplesSplit is the least weight a node needs to be split.
	MinSamplesSplit float64
	// L2 regularises leaf values: G/(H+L2).
	L2 float64
	// MaxFeatures is how many features each split considers, drawn at
	// random; 0 means all.
	MaxFeatures int
	// MinGain is the least gain a split must bring.
	MinGain float64
}

// Validate checks the parameters for p features.
func (p Params) Validate(nfeat int) error {
	switch {
	case p.MaxDepth < 0:
		return fmt.Errorf("max_depth must be 0 (unlimited) or positive, got %d", p.MaxDepth)
	case p.MaxLeaves < 0 || p.MaxLeaves == 1:
		return fmt.Errorf("max_leaf_nodes must be 0 (unlimited) or at least 2, got %d", p.MaxLeaves)
	case p.MinSamplesLeaf < 1:
		return fmt.Errorf("min_samples_leaf must be at least 1, got %v", p.MinSamplesLeaf)
	case p.MinSamplesSplit < 2:
		return fmt.Errorf("min_samples_split must be at least 2, got %v", p.MinSamplesSplit)
	case p.L2 < 0:
		return fmt.Errorf("l2 regularization must be 0 or positive, got %v", p.L2)
	case p.MaxFeatures < 0 || p.MaxFeatures > nfeat:
		return fmt.Errorf("max_features must be between 1 and the %d features, got %d", nfeat, p.MaxFeatures)
	}
	return nil
}

type bin struct{ g, h float64 }

// smallNode is the row count below which a node keeps no histogram of its
// own: summing its few rows per feature is cheaper than clearing and
// subtracting a histogram of every feature's bins.
const smallNode = 128

// Grower grows trees on binned data. It is not safe for concurrent use;
// give each goroutine its own (they can share Codes).
type Grower struct {
	Codes  []uint8 // column-major bin codes, N rows × P features
	N, P   int
	NBins  []int // per feature
	Params Params
	// Workers > 1 builds the histograms of large nodes in parallel, one
	// feature per task (the sums, and so the tree, do not change).
	Workers int
	// Cats marks the category features (their codes are label indexes),
	// which split on sets of codes (scanCats); nil: none.
	Cats []bool

	pool  [][]bin
	feats []int
	small [MaxBins]bin // scratch histogram of small nodes
	cats  []catStat    // scratch of scanCats
	// the tree being grown
	rows []int32
	g, w []float64
	// Gain accumulates each feature's total split gain over every tree
	// grown.
	Gain []float64
}

// NewGrower prepares a grower for codes of n rows and len(nbins) features.
func NewGrower(codes []uint8, n int, nbins []int, p Params) *Grower {
	g := &Grower{Codes: codes, N: n, P: len(nbins), NBins: nbins, Params: p, Gain: make([]float64, len(nbins))}
	g.feats = make([]int, g.P)
	for i := range g.feats {
		g.feats[i] = i
	}
	return g
}

// Categorical marks the category features among p (levels[j] > 0, as in
// model.FitOptions), nil when there are none.
func Categorical(levels []int, p int) []bool {
	var out []bool
	for j, l := range levels {
		if l > 0 && j < p {
			if out == nil {
				out = make([]bool, p)
			}
			out[j] = true
		}
	}
	return out
}

func (gr *Grower) hist() []bin {
	if n := len(gr.pool); n > 0 {
		h := gr.pool[n-1]
		gr.pool = gr.pool[:n-1]
		clear(h)
		return h
	}
	return make([]bin, gr.P*MaxBins)
}

func (gr *Grower) free(h []bin) { gr.pool = append(gr.pool, h) }

// build fills h with the sums of rows per (feature, bin).
func (gr *Grower) build(h []bin, rows []int32, g, w []float64) {
	one := func(f int) {
		hf := h[f*MaxBins : (f+1)*MaxBins]
		col := gr.Codes[f*gr.N : (f+1)*gr.N]
		for _, r := range rows {
			b := &hf[col[r]]
			b.g += g[r]
			b.h += w[r]
		}
	}
	if gr.Workers <= 1 || len(rows) < 4096 {
		for f := range gr.P {
			one(f)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, gr.P)
	for f := range gr.P {
		next <- f
	}
	close(next)
	for range min(gr.Workers, gr.P) {
		wg.Go(func() {
			for f := range next {
				one(f)
			}
		})
	}
	wg.Wait()
}

type split struct {
	ok      bool
	feature int
	bin     uint8
	gain    float64
	// missLeft sends the missing values (MissingCode) left.
	missLeft bool
	// cat: a category split, sending the codes of set left.
	cat bool
	set CatSet
}

// flags are the node flags of the split.
func (s *split) flags() uint8 {
	switch {
	case s.cat:
		return CategorySet
	case s.missLeft:
		return MissingLeft
	}
	return 0
}

// left reports whether the split sends code c left.
func (s *split) left(c uint8) bool {
	switch {
	case s.cat:
		return s.set.Has(c)
	case c == MissingCode:
		return s.missLeft
	}
	return c <= s.bin
}

// node appends the split's node to t (its right child unset) and returns
// its index.
func (s *split) node(t *Tree) int {
	if s.cat {
		t.Sets = append(t.Sets, s.set)
	}
	t.Nodes = append(t.Nodes, Node{Feature: uint16(s.feature), Bin: s.bin, Flags: s.flags()})
	return len(t.Nodes) - 1
}

type node struct {
	start, end int
	g, h       float64
	depth      int
	hist       []bin
	best       split
	// structure, for best-first growth
	left, right int // -1 when a leaf
	order       int // creation order, for deterministic ties
}

func (gr *Grower) score(g, h float64) float64 { return g * g / (h + gr.Params.L2) }

// findSplit sets n.best among the candidate features.
func (gr *Grower) findSplit(n *node, rng *rand.Rand) {
	n.best = split{}
	p := gr.Params
	if n.h < p.MinSamplesSplit || n.h < 2*p.MinSamplesLeaf || (p.MaxDepth > 0 && n.depth >= p.MaxDepth) {
		return
	}
	feats := gr.feats
	if p.MaxFeatures > 0 && p.MaxFeatures < gr.P {
		// Partial Fisher-Yates: the first MaxFeatures entries are a sample.
		for i := range p.MaxFeatures {
			j := i + rng.IntN(gr.P-i)
			feats[i], feats[j] = feats[j], feats[i]
		}
		feats = feats[:p.MaxFeatures]
	}
	parent := gr.score(n.g, n.h)
	if n.hist == nil {
		gr.findSplitSmall(n, feats, parent)
		gr.resetFeats()
		return
	}
	for _, f := range feats {
		gr.scan(n, f, n.hist[f*MaxBins:(f+1)*MaxBins], parent)
	}
	gr.resetFeats()
}

// scan considers the splits of feature f on its histogram hf.
func (gr *Grower) scan(n *node, f int, hf []bin, parent float64) {
	if gr.Cats != nil && gr.Cats[f] {
		gr.scanCats(n, f, hf, parent)
		return
	}
	gr.scanBins(n, f, hf, parent)
}

// scanBins considers every split of feature f between consecutive bins of
// the histogram hf and keeps the best in n.best. An empty bin splits like
// the one before it (a tie never replaces the best), so it is skipped.
//
// Missing values (the MissingCode bin) learn their direction as
// scikit-learn's HistGradientBoosting and XGBoost do: each threshold is
// scored with them on the right, then on the left, and one more split
// puts every value left and the missing ones right. A feature without
// missing values is scanned as before.
func (gr *Grower) scanBins(n *node, f int, hf []bin, parent float64) {
	p := gr.Params
	miss := hf[MissingCode]
	try := func(gl, hl float64, b int, missLeft bool) {
		hr := n.h - hl
		if hl < p.MinSamplesLeaf || hr < p.MinSamplesLeaf {
			return
		}
		gain := gr.score(gl, hl) + gr.score(n.g-gl, hr) - parent
		if gain > n.best.gain && gain > p.MinGain {
			n.best = split{ok: true, feature: f, bin: uint8(b), gain: gain, missLeft: missLeft}
		}
	}
	var gl, hl float64
	last := gr.NBins[f] - 1
	for b := range last {
		if hf[b].h == 0 {
			continue
		}
		gl += hf[b].g
		hl += hf[b].h
		if miss.h == 0 {
			if hl < p.MinSamplesLeaf {
				continue
			}
			if n.h-hl < p.MinSamplesLeaf {
				break
			}
			try(gl, hl, b, false)
			continue
		}
		try(gl, hl, b, false)
		try(gl+miss.g, hl+miss.h, b, true)
	}
	if miss.h > 0 {
		// Every value left, the missing ones right.
		try(n.g-miss.g, n.h-miss.h, last, false)
	}
}

// catStat is one category's sums at a node, and the value it is ordered by.
type catStat struct {
	code  uint8
	g, h  float64
	ratio float64
}

// The category split's constants are scikit-learn's HistGradientBoosting
// (MIN_CAT_SUPPORT, MAX_CAT_THRESHOLD) and LightGBM's (cat_smooth,
// max_cat_threshold).
const (
	// minCatSupport: a category with less weight at a node is no
	// candidate for its left set (it goes right), and smooths the ordering
	// ratio of the others.
	minCatSupport = 10
	// maxCatSet bounds the categories of a left set.
	maxCatSet = 32
)

// scanCats considers splits of category feature f into a set of its codes
// (left) and the rest, as LightGBM and scikit-learn's HistGradientBoosting
// do. The categories present at the node with enough weight, the missing
// code among them as a category of its own, are sorted by their smoothed
// mean gradient g/(h+minCatSupport); the candidate left sets are the
// prefixes of that order, from either end, up to maxCatSet categories or
// half of them. For squared error the best partition into two is such a
// prefix (Fisher, 1958), so k categories cost 2k scans, not 2^(k-1).
// Categories absent from the node, or too rare at it, go right.
func (gr *Grower) scanCats(n *node, f int, hf []bin, parent float64) {
	p := gr.Params
	cats := gr.cats[:0]
	add := func(c int) {
		if b := hf[c]; b.h >= minCatSupport {
			cats = append(cats, catStat{code: uint8(c), g: b.g, h: b.h, ratio: b.g / (b.h + minCatSupport)})
		}
	}
	for c := range gr.NBins[f] {
		add(c)
	}
	add(MissingCode)
	gr.cats = cats
	if len(cats) == 0 {
		return
	}
	slices.SortFunc(cats, func(a, b catStat) int {
		return cmp.Or(cmp.Compare(a.ratio, b.ratio), cmp.Compare(a.code, b.code))
	})
	limit := min(maxCatSet, (len(cats)+1)/2)
	for _, fromEnd := range [2]bool{false, true} {
		var gl, hl float64
		for k := range limit {
			i := k
			if fromEnd {
				i = len(cats) - 1 - k
			}
			gl += cats[i].g
			hl += cats[i].h
			hr := n.h - hl
			if hl < p.MinSamplesLeaf || hr < p.MinSamplesLeaf {
				continue
			}
			gain := gr.score(gl, hl) + gr.score(n.g-gl, hr) - parent
			if !(gain > n.best.gain && gain > p.MinGain) {
				continue
			}
			s := split{ok: true, feature: f, gain: gain, cat: true}
			for j := range k + 1 {
				if fromEnd {
					j = len(cats) - 1 - j
				}
				s.set.Add(cats[j].code)
			}
			n.best = s
		}
	}
}

// sums adds up a node's histogram over feature 0: its bins of values and
// its missing bin.
func (gr *Grower) sums(h []bin) (g, w float64) {
	for _, b := range h[:gr.NBins[0]] {
		g += b.g
		w += b.h
	}
	m := h[MissingCode]
	return g + m.g, w + m.h
}

// resetFeats restores the identity order so the next node samples features
// from the same starting point whatever happened before.
func (gr *Grower) resetFeats() {
	if gr.Params.MaxFeatures > 0 {
		for i := range gr.feats {
			gr.feats[i] = i
		}
	}
}

// findSplitSmall finds the best split of a node without a histogram of
// its own: its few rows are summed into a reusable 256-bin scratch
// histogram per feature, which is scanned in bin order and reset.
func (gr *Grower) findSplitSmall(n *node, feats []int, parent float64) {
	rows := gr.rows[n.start:n.end]
	h := &gr.small
	for _, f := range feats {
		col := gr.Codes[f*gr.N : (f+1)*gr.N]
		for _, r := range rows {
			b := &h[col[r]]
			b.g += gr.g[r]
			b.h += gr.w[r]
		}
		gr.scan(n, f, h[:], parent)
		for _, r := range rows {
			h[col[r]] = bin{}
		}
	}
}

// partition moves the rows going left to the front of rows[n.start:n.end]
// and returns the boundary.
func (gr *Grower) partition(n *node, rows []int32) int {
	col := gr.Codes[n.best.feature*gr.N : (n.best.feature+1)*gr.N]
	s := &n.best
	i, j := n.start, n.end-1
	for i <= j {
		if s.left(col[rows[i]]) {
			i++
		} else {
			rows[i], rows[j] = rows[j], rows[i]
			j--
		}
	}
	return i
}

// children splits n: builds the smaller child's histogram by scanning and
// the larger one's by subtraction (reusing n's buffer).
func (gr *Grower) children(n *node, rows []int32, g, w []float64) (*node, *node) {
	mid := gr.partition(n, rows)
	l := &node{start: n.start, end: mid, depth: n.depth + 1, left: -1, right: -1}
	r := &node{start: mid, end: n.end, depth: n.depth + 1, left: -1, right: -1}
	small, large := l, r
	if l.end-l.start > r.end-r.start {
		small, large = r, l
	}
	gr.Gain[n.best.feature] += n.best.gain
	if n.hist == nil || large.end-large.start < smallNode {
		// No histograms below here: sums by scanning the rows.
		if n.hist != nil {
			gr.free(n.hist)
			n.hist = nil
		}
		for _, c := range []*node{l, r} {
			for _, row := range rows[c.start:c.end] {
				c.g += g[row]
				c.h += w[row]
			}
		}
		return l, r
	}
	small.hist = gr.hist()
	gr.build(small.hist, rows[small.start:small.end], g, w)
	large.hist = n.hist
	n.hist = nil
	for i := range large.hist {
		large.hist[i].g -= small.hist[i].g
		large.hist[i].h -= small.hist[i].h
	}
	for _, c := range []*node{l, r} {
		c.g, c.h = gr.sums(c.hist)
	}
	if small.end-small.start < smallNode {
		gr.free(small.hist)
		small.hist = nil
	}
	return l, r
}

// Grow fits one tree. rows lists the rows to use (it is reordered); g is
// each row's gradient-like target and w its weight (hessian, or count).
// A leaf's value is G/(H+L2) over its rows.
func (gr *Grower) Grow(rows []int32, g, w []float64, rng *rand.Rand) *Tree {
	gr.rows, gr.g, gr.w = rows, g, w
	defer func() { gr.rows, gr.g, gr.w = nil, nil, nil }()
	root := &node{start: 0, end: len(rows), left: -1, right: -1}
	if len(rows) >= smallNode {
		root.hist = gr.hist()
		gr.build(root.hist, rows, g, w)
		root.g, root.h = gr.sums(root.hist)
	} else {
		for _, r := range rows {
			root.g += g[r]
			root.h += w[r]
		}
	}
	gr.findSplit(root, rng)
	t := &Tree{}
	if gr.Params.MaxLeaves == 0 {
		gr.depthFirst(t, root, rows, g, w, rng)
	} else {
		gr.layout(t, gr.bestFirst(root, rows, g, w, rng), 0)
	}
	t.indexSets()
	return t
}

func (gr *Grower) leaf(t *Tree, n *node) {
	t.Nodes = append(t.Nodes, Node{Feature: leafFeature, Right: int32(len(t.Values))})
	t.Values = append(t.Values, n.g/(n.h+gr.Params.L2))
	if n.hist != nil {
		gr.free(n.hist)
		n.hist = nil
	}
}

func (gr *Grower) depthFirst(t *Tree, n *node, rows []int32, g, w []float64, rng *rand.Rand) {
	if !n.best.ok {
		gr.leaf(t, n)
		return
	}
	at := n.best.node(t)
	l, r := gr.children(n, rows, g, w)
	gr.findSplit(l, rng)
	gr.findSplit(r, rng)
	gr.depthFirst(t, l, rows, g, w, rng)
	t.Nodes[at].Right = int32(len(t.Nodes))
	gr.depthFirst(t, r, rows, g, w, rng)
}

// bestFirst splits the leaf with the largest gain until MaxLeaves leaves
// or no leaf can be split. It returns the nodes, the root first.
func (gr *Grower) bestFirst(root *node, rows []int32, g, w []float64, rng *rand.Rand) []*node {
	nodes := []*node{root}
	leaves := 1
	for leaves < gr.Params.MaxLeaves {
		best := -1
		for i, n := range nodes {
			if n.left < 0 && n.best.ok && (best < 0 || n.best.gain > nodes[best].best.gain) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		n := nodes[best]
		l, r := gr.children(n, rows, g, w)
		l.order, r.order = len(nodes), len(nodes)+1
		n.left, n.right = len(nodes), len(nodes)+1
		nodes = append(nodes, l, r)
		gr.findSplit(l, rng)
		gr.findSplit(r, rng)
		leaves++
	}
	return nodes
}

// layout writes the best-first tree in preorder.
func (gr *Grower) layout(t *Tree, nodes []*node, i int) {
	n := nodes[i]
	if n.left < 0 {
		gr.leaf(t, n)
		return
	}
	at := n.best.node(t)
	gr.layout(t, nodes, n.left)
	t.Nodes[at].Right = int32(len(t.Nodes))
	gr.layout(t, nodes, n.right)
}
