//go:build !amd64 || purego

package tree

// walkImpl is the portable walk on this platform.
var walkImpl = walkGo
