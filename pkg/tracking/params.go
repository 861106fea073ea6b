package tracking

import (
	"bytes"
	"encoding/json"
	"reflect"

	"github.com/housectl/housectl/pkg/pyfmt"
)

// ParamTypes returns a model kind's parameter struct, when set. Runs
// recorded before params were stored as text hold them as JSON values,
// which lose Go's types (a float64 1 is written 1); they are read through
// the kind's struct, so that each param is the text MLflow would have
// stored: 1.0, 1e-07. pkg/cli sets it to model/all.DefaultParams.
var ParamTypes func(kind string) (any, error)

// UnmarshalJSON reads run.json, params recorded as JSON values (runs
// before they were stored as text) included.
func (r *Run) UnmarshalJSON(b []byte) error {
	type plain Run
	aux := struct {
		*plain
		Params map[string]json.RawMessage `json:"params"`
	}{plain: (*plain)(r)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	r.Params = paramTexts(r.Model, aux.Params)
	return nil
}

// paramTexts returns params as text: a JSON string is the text; another
// JSON value is rendered as Python's str() renders it, typed by the
// kind's parameter struct when ParamTypes knows it.
func paramTexts(kind string, raws map[string]json.RawMessage) map[string]string {
	if raws == nil {
		return nil
	}
	out := make(map[string]string, len(raws))
	legacy := map[string]json.RawMessage{}
	for k, v := range raws {
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			legacy[k] = v
		}
	}
	if len(legacy) == 0 {
		return out
	}
	if ParamTypes != nil {
		if def, err := ParamTypes(kind); err == nil && def != nil {
			typed := reflect.New(reflect.TypeOf(def))
			typed.Elem().Set(reflect.ValueOf(def))
			b, _ := json.Marshal(legacy)
			if json.Unmarshal(b, typed.Interface()) == nil {
				for k, s := range pyfmt.Params(typed.Interface()) {
					if _, ok := legacy[k]; ok {
						out[k] = s
						delete(legacy, k)
					}
				}
			}
		}
	}
	for k, v := range legacy { // no type known: a number with a fraction or an exponent is a float
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if dec.Decode(&x) == nil {
			out[k] = pyfmt.Str(x)
		} else {
			out[k] = string(v)
		}
	}
	return out
}
