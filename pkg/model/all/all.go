// Package all knows every model kind: its decoder, its default parameters
// and how to build a trainer from parameters given as JSON or a map.
package all

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/housectl/housectl/pkg/model"
	"github.com/housectl/housectl/pkg/model/forest"
	"github.com/housectl/housectl/pkg/model/gbt"
	"github.com/housectl/housectl/pkg/model/linear"
)

// Kinds are the model kind names, in the order housectl lists them.
var Kinds = []string{linear.Kind, forest.Kind, gbt.Kind}

// Decoders maps kind names to payload decoders.
var Decoders = map[string]model.Decoder{
	linear.Kind: linear.Decode,
	forest.Kind: forest.Decode,
	gbt.Kind:    gbt.Decode,
}

// Decode checks and parses an encoded artifact.
func Decode(b []byte) (*model.Artifact, error) { return model.Decode(b, Decoders) }

// Load reads, checks and parses the artifact at path, returning its bytes'
// SHA-256 too.
func Load(path string) (*model.Artifact, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	a, err := Decode(b)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return a, model.SHA256(b), nil
}

// DefaultParams returns a kind's default parameters.
func DefaultParams(kind string) (any, error) {
	switch kind {
	case linear.Kind:
		return linear.Defaults(), nil
	case forest.Kind:
		return forest.Defaults(), nil
	case gbt.Kind:
		return gbt.Defaults(), nil
	}
	return nil, unknownKind(kind)
}

func unknownKind(kind string) error {
	return fmt.Errorf("unknown model %q: use one of %s", kind, strings.Join(Kinds, ", "))
}

// Trainer builds a trainer of kind from overrides (parameter name → value)
// applied on the defaults. An unknown parameter or a wrong type is an error
// naming it; values are then validated.
func Trainer(kind string, overrides map[string]any) (model.Trainer, any, error) {
	def, err := DefaultParams(kind)
	if err != nil {
		return nil, nil, err
	}
	// Round-trip through JSON: defaults, then overrides, strictly.
	base, _ := json.Marshal(def)
	var merged map[string]any
	_ = json.Unmarshal(base, &merged)
	for k, v := range overrides {
		if _, ok := merged[k]; !ok {
			known := make([]string, 0, len(merged))
			for name := range merged {
				known = append(known, name)
			}
			slices.Sort(known)
			return nil, nil, fmt.Errorf("%s has no parameter %q (it has %s)", kind, k, strings.Join(known, ", "))
		}
		merged[k] = v
	}
	b, _ := json.Marshal(merged)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	switch kind {
	case linear.Kind:
		p := linear.Defaults()
		if err := dec.Decode(&p); err != nil {
			return nil, nil, paramError(kind, err)
		}
		return linear.Trainer{Params: p}, p, p.Validate()
	case forest.Kind:
		p := forest.Defaults()
		if err := dec.Decode(&p); err != nil {
			return nil, nil, paramError(kind, err)
		}
		return forest.Trainer{Params: p}, p, p.Validate()
	default:
		p := gbt.Defaults()
		if err := dec.Decode(&p); err != nil {
			return nil, nil, paramError(kind, err)
		}
		return gbt.Trainer{Params: p}, p, p.Validate()
	}
}

func paramError(kind string, err error) error {
	var te *json.UnmarshalTypeError
	if ok := asType(err, &te); ok {
		return fmt.Errorf("%s parameter %q: want a %s, got a %s", kind, te.Field, te.Type, te.Value)
	}
	return fmt.Errorf("%s parameters: %w", kind, err)
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError) //nolint:errorlint // json returns it unwrapped
	if ok {
		*te = t
	}
	return ok
}
