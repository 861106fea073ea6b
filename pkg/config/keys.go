package config

import (
	"reflect"
	"strings"
	"sync"
	"time"
)

var durationType = reflect.TypeFor[time.Duration]()

// key is one settable configuration key: a scalar (string, number, bool,
// duration) that the environment and flags can set, or a list that only a
// file can set.
type key struct {
	Name  string       // dotted path, e.g. data.url
	Index []int        // field index path from Config
	Type  reflect.Type // field type
	List  bool         // a slice: settable from the file only
}

// EnvVar is the environment variable that sets the key.
func (k key) EnvVar() string { return EnvVar(k.Name) }

// EnvVar returns the environment variable for a dotted key:
// data.retry_backoff -> HOUSECTL_DATA_RETRY_BACKOFF.
func EnvVar(name string) string {
	return "HOUSECTL_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(name))
}

// keyTable lists every key of Config in declaration order. It is built on
// first use so that commands that read no configuration pay nothing.
var keyTable = sync.OnceValue(func() []key { return collectKeys(reflect.TypeFor[Config](), "", nil) })

func collectKeys(t reflect.Type, prefix string, index []int) []key {
	var out []key
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		name := tag
		if prefix != "" {
			name = prefix + "." + tag
		}
		idx := append(append([]int(nil), index...), i)
		switch {
		case f.Type.Kind() == reflect.Struct && f.Type != durationType:
			out = append(out, collectKeys(f.Type, name, idx)...)
		case f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map:
			out = append(out, key{Name: name, Index: idx, Type: f.Type, List: true})
		default:
			out = append(out, key{Name: name, Index: idx, Type: f.Type})
		}
	}
	return out
}

// Keys returns the names of all keys, in the order of the Config struct.
func Keys() []string {
	keys := keyTable()
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Name
	}
	return out
}

// fieldNames returns the mapstructure names of a struct type's fields.
func fieldNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
			out = append(out, tag)
		}
	}
	return out
}

func fieldByTag(t reflect.Type, tag string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if t.Field(i).Tag.Get("mapstructure") == tag {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}
