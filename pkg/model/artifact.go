package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
)

// Artifact layout (all integers little-endian):
//
//	"HOUSECTL" magic (8 bytes)
//	format version, uint16 (FormatVersion)
//	header length, uint32, then the header as JSON
//	payload length, uint64, then the kind's payload
//	SHA-256 of everything above (32 bytes)
//
// Nothing in it depends on time or on the machine, so the same model gives
// the same bytes.
//
// Format 2 adds missing values: the header's nullable features, the
// trees' missing-value directions, linear models' fills. A format-1 model
// reads as one that never saw a missing value.
const (
	magic         = "HOUSECTL"
	FormatVersion = 2
	// MinFormatVersion is the oldest format this housectl reads.
	MinFormatVersion = 1
)

// ErrCorrupt matches every artifact that fails its checks.
var ErrCorrupt = errors.New("model artifact is corrupt")

// ColumnSummary describes one column of the training data.
type ColumnSummary struct {
	Name string `json:"name"`
	// Count is the values present; Missing the rows where the value was
	// missing (NaN), which the statistics leave out.
	Count   int     `json:"count"`
	Missing int     `json:"missing,omitempty"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
	// Deciles are the 0, 10, …, 100 % quantiles: the bins for drift tests.
	Deciles []float64 `json:"deciles"`
	// Percentiles are the 0, 1, …, 100 % quantiles: the reference
	// distribution for Kolmogorov–Smirnov tests (absent in artifacts
	// written before it; the deciles serve then).
	Percentiles []float64 `json:"percentiles,omitempty"`
}

// Header is the artifact's self-description.
type Header struct {
	Kind     string          `json:"kind"`
	Features []string        `json:"features"`
	Target   string          `json:"target"`
	Params   json.RawMessage `json:"params"`
	// Training summarises the rows the model was fitted on, features in
	// order, then the target.
	Training []ColumnSummary `json:"training"`
	// Nullable are the features whose values may be missing (the schema's
	// nullable columns): a prediction takes null, an empty cell or NaN for
	// them, which the model handles as it learned to.
	Nullable []string `json:"nullable,omitempty"`
	// Categories are the labels of the category features (format 2): a
	// feature's value is the index of its label in the list, and a
	// prediction takes the label.
	Categories map[string][]string `json:"categories,omitempty"`
	// CreatedWith is the housectl version that wrote it.
	CreatedWith string `json:"created_with"`
}

// Artifact is a model with its header.
type Artifact struct {
	Header Header
	Model  Model
}

// Encode serialises the artifact.
func Encode(a *Artifact) ([]byte, error) {
	if a.Model.Kind() != a.Header.Kind {
		return nil, fmt.Errorf("artifact header says %q, model is %q", a.Header.Kind, a.Model.Kind())
	}
	if a.Model.NumFeatures() != len(a.Header.Features) {
		return nil, fmt.Errorf("model takes %d features, header names %d", a.Model.NumFeatures(), len(a.Header.Features))
	}
	hdr, err := json.Marshal(a.Header)
	if err != nil {
		return nil, err
	}
	var b []byte
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint16(b, FormatVersion)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	b = append(b, hdr...)
	lenAt := len(b)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = a.Model.AppendBinary(b)
	binary.LittleEndian.PutUint64(b[lenAt:], uint64(len(b)-lenAt-8))
	sum := sha256.Sum256(b)
	return append(b, sum[:]...), nil
}

// Decoder turns a kind's payload into a model taking nfeat features.
type Decoder func(payload []byte, nfeat int) (Model, error)

// Decode checks and parses an artifact; decoders maps kind names to their
// decoders (model/all has them all).
func Decode(b []byte, decoders map[string]Decoder) (*Artifact, error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(b) < len(magic)+2+4+8+sha256.Size || string(b[:len(magic)]) != magic {
		return nil, corrupt("not a housectl model (no HOUSECTL header)")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, corrupt("its SHA-256 does not match its content (truncated or altered; retrain or restore it)")
	}
	v := binary.LittleEndian.Uint16(b[8:])
	if v > FormatVersion {
		return nil, fmt.Errorf("model format version %d is newer than this housectl reads (%d to %d): a newer housectl wrote it; upgrade housectl to use it", v, MinFormatVersion, FormatVersion)
	}
	if v < MinFormatVersion {
		return nil, corrupt("format version %d", v)
	}
	p := 10
	hlen := int(binary.LittleEndian.Uint32(b[p:]))
	p += 4
	if p+hlen+8 > len(body) {
		return nil, corrupt("header length %d overruns the file", hlen)
	}
	var h Header
	dec := json.NewDecoder(bytes.NewReader(b[p : p+hlen]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&h); err != nil {
		return nil, corrupt("header: %v", err)
	}
	p += hlen
	plen := binary.LittleEndian.Uint64(b[p:])
	p += 8
	if uint64(len(body)-p) != plen {
		return nil, corrupt("payload is %d bytes, header says %d", len(body)-p, plen)
	}
	d, ok := decoders[h.Kind]
	if !ok {
		return nil, fmt.Errorf("model kind %q is not known to this housectl (known: %v)", h.Kind, kinds(decoders))
	}
	m, err := d(body[p:], len(h.Features))
	if err != nil {
		return nil, corrupt("%s payload: %v", h.Kind, err)
	}
	return &Artifact{Header: h, Model: m}, nil
}

func kinds(d map[string]Decoder) []string {
	var out []string
	for k := range d {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// SHA256 is the hex digest that names an encoded artifact.
func SHA256(encoded []byte) string {
	s := sha256.Sum256(encoded)
	return hex.EncodeToString(s[:])
}

// Summarize describes each column of X (named) and the target.
func Summarize(X Matrix, y []float64, features []string, target string) []ColumnSummary {
	out := make([]ColumnSummary, 0, X.Cols+1)
	for j := range X.Cols {
		out = append(out, summarize(features[j], X.Col(j)))
	}
	return append(out, summarize(target, y))
}

func summarize(name string, all []float64) ColumnSummary {
	xs := all
	if slices.ContainsFunc(all, math.IsNaN) {
		xs = slices.DeleteFunc(slices.Clone(all), math.IsNaN)
	}
	s := ColumnSummary{Name: name, Count: len(xs), Missing: len(all) - len(xs), Min: math.Inf(1), Max: math.Inf(-1)}
	if len(xs) == 0 {
		s.Min, s.Max = 0, 0
		return s
	}
	for _, x := range xs {
		s.Min = min(s.Min, x)
		s.Max = max(s.Max, x)
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	for _, x := range xs {
		s.Std += (x - s.Mean) * (x - s.Mean)
	}
	s.Std = math.Sqrt(s.Std / float64(len(xs)))
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	q := func(p float64) float64 {
		pos := p * float64(len(sorted)-1)
		lo := int(pos)
		hi := min(lo+1, len(sorted)-1)
		return sorted[lo] + (pos-float64(lo))*(sorted[hi]-sorted[lo])
	}
	for i := range 11 {
		s.Deciles = append(s.Deciles, q(float64(i)/10))
	}
	for i := range 101 {
		s.Percentiles = append(s.Percentiles, q(float64(i)/100))
	}
	return s
}

// Payload helpers shared by the kinds' encoders.

// AppendFloats appends a length-prefixed float64 slice.
func AppendFloats(b []byte, xs []float64) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(len(xs)))
	for _, x := range xs {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}

// Reader decodes a payload, remembering the first error.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met so far.
func (r *Reader) Err() error { return r.err }

// Done is Err, and also an error when bytes are left over: call it once
// the whole payload should have been read.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		return fmt.Errorf("%d unexpected trailing bytes", len(r.b))
	}
	return r.err
}

// More reports whether bytes are left: a payload may end where an older
// housectl's did, before parts added since.
func (r *Reader) More() bool { return r.err == nil && len(r.b) > 0 }

// Uint64 reads one value.
func (r *Reader) Uint64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// Int reads a length or count, refusing absurd ones.
func (r *Reader) Int(limit int) int {
	v := r.Uint64()
	if v > uint64(limit) {
		if r.err == nil {
			r.err = fmt.Errorf("count %d exceeds %d", v, limit)
		}
		return 0
	}
	return int(v)
}

// Floats reads a slice written by AppendFloats.
func (r *Reader) Floats(limit int) []float64 {
	n := r.Int(limit)
	if r.err != nil || len(r.b) < 8*n {
		r.fail()
		return nil
	}
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(r.b[8*i:]))
	}
	r.b = r.b[8*n:]
	return out
}

// Bytes reads n raw bytes.
func (r *Reader) Bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.fail()
		return nil
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *Reader) fail() {
	if r.err == nil {
		r.err = errors.New("payload ends early")
	}
}
