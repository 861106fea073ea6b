package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
)

// The Open Inference Protocol v2 (KServe, Triton): its REST infer
// request with JSON tensors or with the binary tensor data extension
// (tritonclient's default), datatypes enforced as the spec says, and its
// {"error": "..."} on every failure.

// oipOutputName is the one output a housectl model has.
const oipOutputName = "prediction"

// oipHeaderLength is the binary tensor data extension's header: the
// length of the JSON at the start of the body, binary tensors after it.
const oipHeaderLength = "Inference-Header-Content-Length"

// oipWidth is the size in bytes of one element of each numeric datatype
// (the spec's names, which are upper case).
var oipWidth = map[string]int{
	"UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8,
	"INT8": 1, "INT16": 2, "INT32": 4, "INT64": 8,
	"FP16": 2, "BF16": 2, "FP32": 4, "FP64": 8,
}

// oipTensor is one input tensor of an infer request, its data kept as a
// slice of the body until its shape is known.
type oipTensor struct {
	Name     string
	Shape    []int
	Datatype string
	Data     jsontext.Value
	// BinarySize is the parameters' binary_data_size (-1: none): the
	// tensor's bytes follow the JSON header.
	BinarySize int
}

// OIPRequest is a decoded infer request.
type OIPRequest struct {
	X  model.Matrix
	ID string
	// Binary asks for the output as binary tensor data.
	Binary bool
}

// maxRank bounds the dimensions of an input tensor.
const maxRank = 8

// parameters reads a parameters object, calling each for its keys.
func parameters(in *input.JSON, what string, each func(key string, v jsontext.Value) error) error {
	if k, err := in.Peek(); err != nil {
		return err
	} else if k != '{' {
		return badRequest("%s: parameters must be an object", what)
	}
	return in.Members(func(key string) error {
		v, err := in.Value()
		if err != nil {
			return err
		}
		return each(key, v)
	})
}

// readTensor reads one input tensor object.
func readTensor(in *input.JSON, i int) (oipTensor, error) {
	tt := oipTensor{BinarySize: -1}
	if k, err := in.Peek(); err != nil || k != '{' {
		return tt, badRequest("input %d is not a tensor object {\"name\", \"shape\", \"datatype\", \"data\"}", i)
	}
	err := in.Members(func(key string) error {
		switch key {
		case "name", "datatype":
			v, err := in.Value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest("input %d: %s must be a string", i, key)
			}
			if key == "name" {
				tt.Name = input.Unquote(v)
			} else {
				tt.Datatype = input.Unquote(v)
			}
			return nil
		case "shape":
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest("input %d: shape must be a list of whole numbers", i)
			}
			return in.Elems(maxRank, "dimensions", func(int) error {
				v, err := in.Value()
				if err != nil {
					return err
				}
				d, err := strconv.Atoi(string(v))
				if err != nil {
					return badRequest("input %d: shape must be a list of whole numbers, got %s", i, v)
				}
				tt.Shape = append(tt.Shape, d)
				return nil
			})
		case "data":
			v, err := in.Value()
			tt.Data = v
			return err
		case "parameters":
			return parameters(in, fmt.Sprintf("input %d", i), func(key string, v jsontext.Value) error {
				if key != "binary_data_size" {
					return nil
				}
				n, err := strconv.Atoi(string(v))
				if err != nil || n < 0 {
					return badRequest("input %d: binary_data_size must be a whole number of bytes, got %s", i, v)
				}
				tt.BinarySize = n
				return nil
			})
		}
		return badRequest("not an inference request: input %d has an unknown field %q", i, key)
	})
	return tt, err
}

// leaves reads a tensor's JSON data, nested no deeper than rank, into its
// values in row-major order; it stops with an error past want values.
func leaves(data jsontext.Value, rank, want int, name string) ([]jsontext.Value, error) {
	in := input.NewJSON(data)
	out := make([]jsontext.Value, 0, want)
	var walk func(depth int) error
	walk = func(depth int) error {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k != '[' {
			if len(out) == want {
				return badRequest("input %q holds more values than its shape", name)
			}
			v, err := in.Value()
			out = append(out, v)
			return err
		}
		if depth == rank {
			return badRequest("input %q: data is nested deeper than its shape", name)
		}
		return in.Elems(want+1, "values", func(int) error { return walk(depth + 1) })
	}
	if k, err := in.Peek(); err != nil || k != '[' {
		return nil, badRequest("input %q: data is not a list of numbers", name)
	}
	if err := walk(0); err != nil {
		if _, ok := errors.AsType[*input.TooManyError](err); ok {
			return nil, badRequest("input %q holds more values than its shape", name)
		}
		return nil, err
	}
	return out, nil
}

// jsonElement is one JSON value of a tensor as its datatype allows it: a
// number, whole and within range for the integer types, within range for
// the float types (the spec's "data must be of the datatype").
func jsonElement(v jsontext.Value, dt, name string) (float64, error) {
	if v.Kind() != '0' {
		what := map[jsontext.Kind]string{'"': "a string", 't': "a boolean", 'f': "a boolean", 'n': "null", '{': "an object"}[v.Kind()]
		return 0, badRequest("input %q: %s data holds %s (%s): send numbers", name, dt, what, v)
	}
	s := string(v)
	switch dt[0] {
	case 'I':
		bits := 8 * oipWidth[dt]
		n, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			return 0, badRequest("input %q: %s data holds %s, which is not a whole number from %d to %d: use FP64 for other numbers", name, dt, s, int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
		}
		return float64(n), nil
	case 'U':
		bits := 8 * oipWidth[dt]
		n, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			return 0, badRequest("input %q: %s data holds %s, which is not a whole number from 0 to %d: use FP64 for other numbers", name, dt, s, uint64(1)<<bits-1)
		}
		return float64(n), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	limit := map[string]float64{"FP16": 65504, "BF16": math.MaxFloat32, "FP32": math.MaxFloat32, "FP64": math.MaxFloat64}[dt]
	if err != nil || math.Abs(f) > limit {
		return 0, badRequest("input %q: %s data holds %s, which is outside %s's range", name, dt, s, dt)
	}
	return f, nil
}

// binaryElements decodes a tensor's binary data (little-endian, row-major,
// as the extension sends it).
func binaryElements(b []byte, dt string) []float64 {
	w := oipWidth[dt]
	out := make([]float64, len(b)/w)
	for i := range out {
		e := b[i*w : (i+1)*w]
		switch dt {
		case "UINT8":
			out[i] = float64(e[0])
		case "INT8":
			out[i] = float64(int8(e[0]))
		case "UINT16":
			out[i] = float64(binary.LittleEndian.Uint16(e))
		case "INT16":
			out[i] = float64(int16(binary.LittleEndian.Uint16(e)))
		case "UINT32":
			out[i] = float64(binary.LittleEndian.Uint32(e))
		case "INT32":
			out[i] = float64(int32(binary.LittleEndian.Uint32(e)))
		case "UINT64":
			out[i] = float64(binary.LittleEndian.Uint64(e))
		case "INT64":
			out[i] = float64(int64(binary.LittleEndian.Uint64(e)))
		case "FP16":
			out[i] = halfToFloat(binary.LittleEndian.Uint16(e))
		case "BF16":
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(e)) << 16))
		case "FP32":
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(e)))
		case "FP64":
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(e))
		}
	}
	return out
}

// halfToFloat reads an IEEE 754 binary16.
func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

// DecodeOIP reads an OIP v2 infer request: one tensor per feature (shape
// [N] or [N, 1]), or one tensor of shape [N, features]. headerLength is
// the Inference-Header-Content-Length header ("" without the binary
// extension).
func DecodeOIP(m *Model, body []byte, headerLength string, limit int) (OIPRequest, error) {
	var req OIPRequest
	var bin []byte
	if headerLength != "" {
		n, err := strconv.Atoi(headerLength)
		if err != nil || n < 0 || n > len(body) {
			return req, badRequest("%s is %q: it must be the length of the JSON at the start of the body (%d bytes in all)", oipHeaderLength, headerLength, len(body))
		}
		body, bin = body[:n], body[n:]
	}
	in := input.NewJSON(body)
	if k, err := in.Peek(); err != nil {
		return req, asOIP(err)
	} else if k != '{' {
		return req, badRequest(`not an inference request: the body must be an object with "inputs"`)
	}
	var inputs []oipTensor
	hasInputs := false
	p := len(m.Artifact.Header.Features)
	err := in.Members(func(key string) error {
		switch key {
		case "id":
			v, err := in.Value()
			if err != nil {
				return err
			}
			if v.Kind() != '"' {
				return badRequest(`not an inference request: "id" must be a string`)
			}
			req.ID = input.Unquote(v)
			return nil
		case "parameters":
			return parameters(in, "the request", func(key string, v jsontext.Value) error {
				if key == "binary_data_output" {
					req.Binary = v.Kind() == 't'
				}
				return nil
			})
		case "inputs":
			hasInputs = true
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "inputs" must be a list of tensors`)
			}
			return in.Elems(4*p+16, "inputs", func(i int) error {
				tt, err := readTensor(in, i)
				inputs = append(inputs, tt)
				return err
			})
		case "outputs":
			if k, err := in.Peek(); err != nil || k != '[' {
				return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
			}
			return in.Elems(16, "outputs", func(int) error { return readOutput(in, &req) })
		}
		return badRequest("not an inference request: unknown field %q", key)
	})
	if err == nil {
		err = in.End()
	}
	if _, ok := errors.AsType[*input.SyntaxError](err); ok && headerLength == "" && bytes.Contains(body, []byte(`"binary_data_size"`)) {
		return req, badRequest("the body holds binary tensor data (binary_data_size) but the request has no %s header: send it with the length of the JSON", oipHeaderLength)
	}
	if err != nil {
		return req, asOIP(err)
	}
	if !hasInputs || len(inputs) == 0 {
		return req, badRequest(`"inputs" is required: one tensor per feature, or one tensor of shape [N, %d]`, p)
	}
	// Each tensor's elements, checked against its datatype and shape.
	vals := make([][]float64, len(inputs))
	labels := make([][]string, len(inputs)) // a category's BYTES tensor
	for c, tt := range inputs {
		w, ok := oipWidth[tt.Datatype]
		if tt.Datatype == "BYTES" && m.Schema.Labels != nil && tt.BinarySize < 0 {
			if j, known := m.Schema.Index(tt.Name); known && m.Schema.Labels[j] != nil {
				ls, err := bytesLabels(tt)
				if err != nil {
					return req, err
				}
				if tt.Shape[0] > limit {
					return req, asOIP(&input.TooManyError{Limit: limit, What: "rows"})
				}
				labels[c], vals[c] = ls, make([]float64, len(ls))
				continue
			}
		}
		if !ok {
			if _, upper := oipWidth[strings.ToUpper(tt.Datatype)]; upper {
				return req, badRequest("input %q: datatype %q is not an OIP datatype: datatypes are upper case (%s)", tt.Name, tt.Datatype, strings.ToUpper(tt.Datatype))
			}
			return req, badRequest("input %q: datatype %q is not numeric: use FP64", tt.Name, tt.Datatype)
		}
		if len(tt.Shape) == 0 {
			return req, badRequest("input %q: shape is required", tt.Name)
		}
		count := 1
		for _, d := range tt.Shape {
			if d < 0 {
				return req, badRequest("input %q: shape %s has a negative dimension", tt.Name, shape(tt.Shape))
			}
			if d > limit*(p+1) || count > limit*(p+1) {
				return req, asOIP(&input.TooManyError{Limit: limit, What: "rows"})
			}
			count *= d
		}
		if tt.Shape[0] > limit {
			return req, asOIP(&input.TooManyError{Limit: limit, What: "rows"})
		}
		switch {
		case tt.BinarySize >= 0 && tt.Data != nil:
			return req, badRequest("input %q has both data and binary_data_size: send one", tt.Name)
		case tt.BinarySize >= 0:
			if headerLength == "" {
				return req, badRequest("input %q has binary_data_size but the request has no %s header: send it with the length of the JSON", tt.Name, oipHeaderLength)
			}
			if tt.BinarySize != count*w {
				return req, badRequest("input %q: binary_data_size is %d, but shape %s of %s needs %d bytes", tt.Name, tt.BinarySize, shape(tt.Shape), tt.Datatype, count*w)
			}
			if tt.BinarySize > len(bin) {
				return req, badRequest("input %q: binary_data_size is %d, but only %d bytes follow the JSON header", tt.Name, tt.BinarySize, len(bin))
			}
			vals[c], bin = binaryElements(bin[:tt.BinarySize], tt.Datatype), bin[tt.BinarySize:]
		case tt.Data == nil:
			return req, badRequest("input %q has no data (nor binary_data_size)", tt.Name)
		default:
			flat, err := leaves(tt.Data, len(tt.Shape), count, tt.Name)
			if err == nil && len(flat) != count {
				err = badRequest("input %q: shape %s does not match its %d values", tt.Name, shape(tt.Shape), len(flat))
			}
			if err != nil {
				return req, asOIP(err)
			}
			vals[c] = make([]float64, len(flat))
			for i, v := range flat {
				if vals[c][i], err = jsonElement(v, tt.Datatype, tt.Name); err != nil {
					return req, err
				}
			}
		}
	}
	if len(bin) > 0 {
		return req, badRequest("%d bytes follow the JSON header and the inputs' binary data: the body and %s disagree", len(bin), oipHeaderLength)
	}
	t := input.NewTable(m.Schema, limit)
	if len(inputs) == 1 && len(inputs[0].Shape) == 2 && inputs[0].Shape[1] == p {
		tt := inputs[0]
		for i := range tt.Shape[0] {
			row, err := t.NewRow()
			if err != nil {
				return req, asOIP(err)
			}
			for j := range p {
				t.Number(row, j, vals[0][i*p+j], "inputs", tt.Name, i, m.Schema.Features[j])
			}
		}
	} else {
		cols := make([]string, len(inputs))
		for c, tt := range inputs {
			if len(tt.Shape) > 2 || len(tt.Shape) == 2 && tt.Shape[1] != 1 {
				return req, badRequest("input %q: shape %s is not [N] or [N, 1] (want one tensor per feature, or one input of shape [N, %d])", tt.Name, shape(tt.Shape), p)
			}
			if c > 0 && len(vals[c]) != len(vals[0]) {
				return req, badRequest("input %q has %d values, the first input %d", tt.Name, len(vals[c]), len(vals[0]))
			}
			cols[c] = tt.Name
		}
		idx, _ := t.Header(cols, "inputs")
		for i := range len(vals[0]) {
			if t.Problems() > 0 {
				break
			}
			row, err := t.NewRow()
			if err != nil {
				return req, asOIP(err)
			}
			for c := range cols {
				switch {
				case idx[c] < 0:
				case labels[c] != nil:
					t.Text(row, idx[c], labels[c][i], "inputs", cols[c], i)
				default:
					t.Number(row, idx[c], vals[c][i], "inputs", cols[c], i)
				}
			}
		}
	}
	X, err := t.Done()
	if err != nil {
		return req, asOIP(err)
	}
	req.X = X
	return req, nil
}

// readOutput reads one requested output: the model has one.
func readOutput(in *input.JSON, req *OIPRequest) error {
	var name string
	binaryOut := false
	if k, err := in.Peek(); err != nil || k != '{' {
		return badRequest(`not an inference request: "outputs" must be a list of {"name"}`)
	}
	if err := in.Members(func(k string) error {
		switch k {
		case "parameters":
			return parameters(in, "an output", func(key string, v jsontext.Value) error {
				if key == "binary_data" {
					binaryOut = v.Kind() == 't'
				}
				return nil
			})
		case "name":
			v, err := in.Value()
			name = input.Unquote(v)
			return err
		}
		return badRequest("not an inference request: an output has an unknown field %q", k)
	}); err != nil {
		return err
	}
	if name != oipOutputName {
		return badRequest("requested output %q does not exist: the model has one output, %q", name, oipOutputName)
	}
	req.Binary = binaryOut
	return nil
}

// asOIP maps the input package's errors as asRequest does, but invalid
// values are 400s: the protocol has no 422. The message names the first
// problem and counts the rest.
func asOIP(err error) error {
	var ie *input.InvalidError
	if !errors.As(err, &ie) {
		return asRequest(err)
	}
	msg := ie.Error()
	if len(ie.Problems) > 0 {
		p := ie.Problems[0]
		msg = fmt.Sprintf("input %s: %s", locString(p.Loc[1:]), p.Msg)
		if p.Input != nil {
			msg += fmt.Sprintf(", got %v", p.Input)
		}
		if ie.Total > 1 {
			msg += fmt.Sprintf(" (and %d more problems)", ie.Total-1)
		}
	}
	return &requestError{Status: http.StatusBadRequest, Msg: msg, Code: "INVALID_PARAMETER_VALUE"}
}

// appendOIPBinary writes the binary form of the response: its JSON
// header, then the predictions as little-endian FP64.
func appendOIPBinary(header []byte, pred []float64) []byte {
	out := slices.Grow(header, 8*len(pred))
	for _, v := range pred {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
	}
	return out
}

// shape writes a tensor shape as the spec does: [2, 8].
func shape(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// bytesLabels reads a category feature's BYTES tensor given as JSON: one
// string (a label) per element, shape [N] or [N, 1].
func bytesLabels(tt oipTensor) ([]string, error) {
	if len(tt.Shape) == 0 || len(tt.Shape) > 2 || len(tt.Shape) == 2 && tt.Shape[1] != 1 || tt.Shape[0] < 0 {
		return nil, badRequest("input %q: shape %s is not [N] or [N, 1]", tt.Name, shape(tt.Shape))
	}
	if tt.Data == nil {
		return nil, badRequest("input %q has no data: send the labels as JSON strings", tt.Name)
	}
	flat, err := leaves(tt.Data, len(tt.Shape), tt.Shape[0], tt.Name)
	if err != nil {
		return nil, asOIP(err)
	}
	if len(flat) != tt.Shape[0] {
		return nil, badRequest("input %q: shape %s does not match its %d values", tt.Name, shape(tt.Shape), len(flat))
	}
	out := make([]string, len(flat))
	for i, v := range flat {
		if v.Kind() != '"' {
			return nil, badRequest("input %q: BYTES data holds %s: send each label as a string", tt.Name, v)
		}
		out[i] = input.Unquote(v)
	}
	return out, nil
}
