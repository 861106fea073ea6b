//go:build !amd64 || purego

package tree

// walkImpl is the portable walk on this platform.
var walkImpl = walkGo

// masksKernel: none on this platform.
var masksKernel func(*leafMasks, []uint8, int, []float64, int)
