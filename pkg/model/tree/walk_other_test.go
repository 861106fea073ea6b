//go:build !amd64 || purego

package tree

func kernels() []kernel { return []kernel{{"go", walkGo}} }
