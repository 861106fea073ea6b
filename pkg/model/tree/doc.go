// Package tree holds the histogram regression tree that the random forest
// and gradient boosting share: feature binning (bins.go), the grower
// (grow.go), the flat tree (tree.go) and its prediction layouts.
//
// Features are binned once into at most 255 bins (uint8 codes); a missing
// value has code 255 (MissingCode), a category's code is its label index.
// A split sends code <= Bin to the left, a missing value the way its
// node's flag says, and a category split the codes of its set (grow.go's
// scanCats finds them as LightGBM does). A tree is a flat slice of 8-byte
// nodes in preorder (the left child follows its parent), leaf values and
// category sets apart; a row is binned once per prediction and the walk
// compares small integers, so prediction does not allocate.
//
// A tree is predicted with one of five layouts, each in a file of its own.
// All are built once, by Ensemble.Prepare (at the end of a fit or a load),
// from the final leaf values: boosting scales a tree's leaves before that,
// never after, so no layout holds a copy that could go stale.
//
//	tree.go     the plain walk over Nodes (Tree.Predict, PredictColumnar):
//	            the reference every layout must agree with, and what
//	            training uses while trees are still being added.
//	nodes.go    stepped nodes: the walk as branch-free arithmetic, eight
//	            lanes (rows or trees) at a time. SumRow for one row when
//	            there is no row pack; sumBlock for batches of trees that fit
//	            neither leaf masks nor the packed walk.
//	masks.go    leaf masks, for trees of at most 64 leaves: each split
//	            clears the leaves its row cannot reach; a batch of rows is
//	            ANDed feature by feature (AVX-512 kernel with F and CD).
//	packed.go   the packed walk, for batches of larger trees on features
//	            0-31: one 32-bit word per node, many rows stepped side by
//	            side (AVX-512 and AVX2 kernels).
//	rowpack.go  the row pack, for one row (Ensemble.Predict): every tree of
//	            the ensemble packed into one array, walked side by side
//	            (AVX-512 kernel).
//
// The stepped, packed and row-pack layouts compare codes with a threshold;
// they send a missing value right. A tree with category splits therefore
// gets leaf masks only (a mask table is exact for any split) or is walked
// as it is, and a row with a missing value walks the nodes where a split
// learned to send it left (Ensemble.missLeft).
//
// batch.go (predictBlocks) picks a layout per run of trees and sums them in
// tree order, so a batch gives the same bits as Predict whatever the
// layout. The SIMD kernels are in kernels_amd64.s; kernels_other.go and the
// purego build tag leave the Go lanes only. The tests compare every layout
// and kernel with the plain walk, and skip, by name, each kernel this CPU
// lacks (go test -v shows the skips).
package tree
