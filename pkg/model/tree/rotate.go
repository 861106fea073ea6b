package tree

import (
	"fmt"
	"math"

	"github.com/housectl/housectl/pkg/model"
)

// Rotation derives two features from a pair (A, B): the pair's coordinates
// in axes turned by Degrees,
//
//	u = cos θ·a + sin θ·b,  v = −sin θ·a + cos θ·b.
//
// Axis-aligned splits on several rotations approximate oblique boundaries,
// which helps on map coordinates (latitude, longitude) above all. The
// ensemble computes them from the raw row, so callers never see them.
type Rotation struct {
	A, B     int
	Degrees  float64
	sin, cos float64
}

// NewRotation returns the rotation of features a and b by deg degrees,
// which must lie strictly between 0 and 90.
func NewRotation(a, b int, deg float64) (Rotation, error) {
	if !(deg > 0 && deg < 90) {
		return Rotation{}, fmt.Errorf("rotation angle must be strictly between 0 and 90 degrees, got %v", deg)
	}
	if a == b || a < 0 || b < 0 {
		return Rotation{}, fmt.Errorf("rotation needs two different features, got %d and %d", a, b)
	}
	s, c := math.Sincos(deg * math.Pi / 180)
	return Rotation{A: a, B: b, Degrees: deg, sin: s, cos: c}, nil
}

// Apply returns the rotated pair. The explicit conversions keep each
// product rounded (no fused multiply-add), so every platform gives the
// same bits.
func (r Rotation) Apply(a, b float64) (u, v float64) {
	return float64(r.cos*a) + float64(r.sin*b), float64(r.cos*b) - float64(r.sin*a)
}

// Extend returns X with two columns per rotation appended (u, v in order).
func Extend(X model.Matrix, rots []Rotation) model.Matrix {
	out := model.Matrix{Rows: X.Rows, Cols: X.Cols + 2*len(rots)}
	out.Data = append(make([]float64, 0, out.Rows*out.Cols), X.Data[:X.Rows*X.Cols]...)
	out.Data = out.Data[:out.Rows*out.Cols]
	for k, r := range rots {
		a, b := X.Col(r.A), X.Col(r.B)
		u, v := out.Col(X.Cols+2*k), out.Col(X.Cols+2*k+1)
		for i := range a {
			u[i], v[i] = r.Apply(a[i], b[i])
		}
	}
	return out
}

// FoldGain maps gains over the extended features back onto the raw ones:
// a rotated feature's gain is shared equally by its pair.
func FoldGain(gain []float64, nraw int, rots []Rotation) []float64 {
	out := append([]float64(nil), gain[:nraw]...)
	for k, r := range rots {
		g := gain[nraw+2*k] + gain[nraw+2*k+1]
		out[r.A] += g / 2
		out[r.B] += g / 2
	}
	return out
}
