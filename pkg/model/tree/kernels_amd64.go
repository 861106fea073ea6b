//go:build amd64 && !purego

package tree

import "golang.org/x/sys/cpu"

// walkImpl is the fastest walk this CPU runs.
var walkImpl = pickWalk(cpu.X86.HasAVX512F, cpu.X86.HasAVX2)

func pickWalk(avx512, avx2 bool) func(*packed, []uint8, []int32, int) {
	switch {
	case avx512:
		return walkAVX512
	case avx2:
		return walkAVX2
	}
	return walkGo
}

// walkAVX512 walks two groups of 16 rows at a time.
func walkAVX512(p *packed, codes []uint8, exit []int32, depth int) {
	if p.narrow {
		walk32AVX512Narrow(&p.nodes[0], &codes[0], &exit[0], len(exit)/32, depth)
		return
	}
	walk32AVX512(&p.nodes[0], &codes[0], &exit[0], len(exit)/32, depth)
}

// walkAVX2 walks two groups of eight rows at a time.
func walkAVX2(p *packed, codes []uint8, exit []int32, depth int) {
	walk16AVX2(&p.nodes[0], &codes[0], &exit[0], len(exit)/16, depth)
}

// The kernels of walk_amd64.s. A pair is two groups of rows: 32 rows (1,024
// code bytes) for AVX-512, 16 (512 bytes) for AVX2.

//go:noescape
func walk32AVX512(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)

//go:noescape
func walk32AVX512Narrow(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)

//go:noescape
func walk16AVX2(nodes *uint32, codes *uint8, exit *int32, pairs, depth int)

// masksKernel is sumMasks' SIMD kernel, nil where the CPU has none.
var masksKernel = pickMasks(cpu.X86.HasAVX512F && cpu.X86.HasAVX512CD)

func pickMasks(avx512 bool) func(*leafMasks, []uint8, int, []float64, int) {
	if avx512 {
		return masksAVX512
	}
	return nil
}

// masksAVX512 sums a leaf-mask tree over groups of eight rows; cols and
// acc must hold them (see sumMasks).
func masksAVX512(lm *leafMasks, cols []uint8, stride int, acc []float64, groups int) {
	masks8AVX512(&lm.masks[0], &lm.feats[0], len(lm.feats), &cols[0], stride, &lm.value[0], &acc[0], groups)
}

// masks8AVX512 is in walk_amd64.s.
//
//go:noescape
func masks8AVX512(tabs *[MaxBins]uint64, feats *uint16, nfeat int, cols *uint8, stride int, value *float64, acc *float64, groups int)

// rowKernel says whether rowWalk has a SIMD kernel to run (a plain
// variable, so that the call to rowWalk stays direct and its stack
// buffers do not escape).
var rowKernel = hasRowKernel

// hasRowKernel is whether the CPU runs rowAVX512.
var hasRowKernel = cpu.X86.HasAVX512F

// rowWalk sets exit[k] to the leaf tree k of rp reaches; exit is as long
// as rp.padded.
func rowWalk(rp *rowPack, codes *[laneStride]uint32, exit []int32) {
	_ = exit[len(rp.padded)-1]
	rowAVX512(&rp.nodes[0], &codes[0], &rp.padded[0], len(rp.padded)/32, rp.maxDepth, &exit[0])
}

// rowAVX512 is in walk_amd64.s.
//
//go:noescape
func rowAVX512(nodes *uint32, codes *uint32, roots *int32, pairs, depth int, exit *int32)
