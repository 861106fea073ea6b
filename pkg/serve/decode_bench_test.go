package serve

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkDecodeBatch decodes a /predict/batch body of 1,000 rows.
func BenchmarkDecodeBatch(b *testing.B) {
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(b, 0)}
	if err := m.prepare(0.25, nil); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString(`{"instances": [`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"a": %g, "b": %g, "c": %d}`, 1+float64(i%9)*0.5, 2.25+float64(i%5), 3+i%4)
	}
	sb.WriteString("]}")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(m, body, 10000); err != nil {
			b.Fatal(err)
		}
	}
}
