//go:build !amd64 || purego

package tree

func kernels() []kernel { return []kernel{{"go", walkGo}} }

// simd names every SIMD kernel of the package: none is built here.
func simd() map[string]string {
	const why = "not built: amd64 only, and not with the purego tag"
	return map[string]string{
		"packed walk, avx2": why, "packed walk, avx512": why, "leaf masks, avx512": why, "row pack, avx512": why,
		"packed walk, go lanes": "", "leaf masks, go": "", "row pack, go lanes": "", "stepped nodes, go only": "",
	}
}
