//go:build !amd64 || purego

package tree

// walkImpl is the portable walk on this platform.
var walkImpl = walkGo

// masksKernel: none on this platform.
var masksKernel func(*leafMasks, []uint8, int, []float64, int)

// rowKernel: none on this platform.
var rowKernel, hasRowKernel = false, false

func rowWalk(*rowPack, *[laneStride]uint32, []int32) { panic("tree: no row kernel") }
