//go:build amd64 && !purego

package tree

import "golang.org/x/sys/cpu"

// kernels lists the walks this CPU can run.
func kernels() []kernel {
	ks := []kernel{{"go", walkGo}}
	if cpu.X86.HasAVX2 {
		ks = append(ks, kernel{"avx2", walkAVX2})
	}
	if cpu.X86.HasAVX512F {
		ks = append(ks, kernel{"avx512", walkAVX512})
	}
	return ks
}
