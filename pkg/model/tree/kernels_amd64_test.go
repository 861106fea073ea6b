//go:build amd64 && !purego

package tree

import "golang.org/x/sys/cpu"

// kernels lists the packed walks this CPU can run.
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

// simd names every SIMD kernel of the package and says why this CPU
// cannot run it ("" when it can).
func simd() map[string]string {
	lacks := func(has bool, what string) string {
		if has {
			return ""
		}
		return "this CPU lacks " + what
	}
	return map[string]string{
		"packed walk, avx2":      lacks(cpu.X86.HasAVX2, "AVX2"),
		"packed walk, avx512":    lacks(cpu.X86.HasAVX512F, "AVX-512F"),
		"leaf masks, avx512":     lacks(cpu.X86.HasAVX512F && cpu.X86.HasAVX512CD, "AVX-512F and CD"),
		"row pack, avx512":       lacks(cpu.X86.HasAVX512F, "AVX-512F"),
		"packed walk, go lanes":  "",
		"leaf masks, go":         "",
		"row pack, go lanes":     "",
		"stepped nodes, go only": "",
	}
}
