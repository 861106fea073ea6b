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

// BenchmarkDecodeInvocations decodes an MLflow dataframe_split body of
// 1,000 rows.
func BenchmarkDecodeInvocations(b *testing.B) {
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(b, 0)}
	if err := m.prepare(0.25, nil); err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	sb.WriteString(`{"dataframe_split": {"columns": ["a", "b", "c"], "data": [`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `[%g, %g, %d]`, 1+float64(i%9)*0.5, 2.25+float64(i%5), 3+i%4)
	}
	sb.WriteString("]}}")
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeInvocations(m, body, false, 10000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeOIP decodes an OIP infer request of one [1000, 3] FP64
// tensor, as JSON and with the binary tensor extension.
func BenchmarkDecodeOIP(b *testing.B) {
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(b, 0)}
	if err := m.prepare(0.25, nil); err != nil {
		b.Fatal(err)
	}
	vals := make([]float64, 0, 3000)
	for i := range 1000 {
		vals = append(vals, 1+float64(i%9)*0.5, 2.25+float64(i%5), float64(3+i%4))
	}
	var sb strings.Builder
	sb.WriteString(`{"inputs": [{"name": "x", "shape": [1000, 3], "datatype": "FP64", "data": [`)
	for i, v := range vals {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%g", v)
	}
	sb.WriteString("]}]}")
	header := `{"inputs": [{"name": "x", "shape": [1000, 3], "datatype": "FP64", "parameters": {"binary_data_size": 24000}}]}`
	for _, c := range []struct {
		name, headerLength string
		body               []byte
	}{
		{"json", "", []byte(sb.String())},
		{"binary", fmt.Sprint(len(header)), appendOIPBinary([]byte(header), vals)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeOIP(m, c.body, c.headerLength, 10000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
