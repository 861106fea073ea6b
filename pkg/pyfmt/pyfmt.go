// Package pyfmt writes values as Python prints them, where a Python tool's
// users read or parse housectl's text: MLflow stores a run's params with
// str() and quotes names with repr() in its error messages.
package pyfmt

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Float is Python's str() and repr() of a float: the shortest digits that
// read back to v, positional from 1e-4 up to 1e16 (with ".0" when whole)
// and otherwise scientific with a signed exponent of at least two digits:
// 1e-07, 1.0, 0.0001, 1e+16, inf, nan.
func Float(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64) // [-]d[.ddd]e±XX
	mant, exp, _ := strings.Cut(e, "e")
	x, _ := strconv.Atoi(exp)
	sign := ""
	if mant[0] == '-' {
		sign, mant = "-", mant[1:]
	}
	digits := strings.Replace(mant, ".", "", 1)
	decpt := x + 1 // digits[:decpt] are the integer part
	if decpt <= -4 || decpt > 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := "+"
		if x < 0 {
			es, x = "-", -x
		}
		return fmt.Sprintf("%s%se%s%02d", sign, m, es, x)
	}
	switch {
	case decpt <= 0:
		return sign + "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return sign + digits[:decpt] + "." + digits[decpt:]
}

// Repr is Python's repr() of a str: single quotes unless the text holds
// a single quote and no double quote, backslash escapes for the quote,
// the backslash and what is not printable.
func Repr(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 { // not UTF-8: Python's surrogateescape
			fmt.Fprintf(&b, `\udc%02x`, s[i])
			i++
			continue
		}
		i += n
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x7f && r >= 0x20 || r > 0x7f && unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// List is Python's repr() of a list of str: ['a', 'b'].
func List(items []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Repr(s))
	}
	b.WriteByte(']')
	return b.String()
}

// Set is Python's repr() of a set of str, in the order given (Python's
// own order depends on the process's hash seed): {'a', 'b'}, or set()
// when empty.
func Set(items []string) string {
	if len(items) == 0 {
		return "set()"
	}
	l := List(items)
	return "{" + l[1:len(l)-1] + "}"
}

// Str is Python's str() of a value as MLflow's log_param stores it: a
// string as it is, and anything else as repr() prints it. Go values map
// to Python's as json.Marshal would map them: bool to bool, integers to
// int, floats to float (1.0, 1e-07), nil to None, slices to lists, maps
// (sorted by key) and structs (their JSON names, in field order) to
// dicts. A json.Number is a float when it has a fraction or an exponent.
func Str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	writeRepr(&b, reflect.ValueOf(v))
	return b.String()
}

// Params is Str of each field of a struct (by its JSON name), or of each
// value of a map: a model's parameters as MLflow records them.
func Params(v any) map[string]string {
	out := map[string]string{}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return out
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.Struct:
		eachField(rv, func(name string, f reflect.Value) { out[name] = Str(f.Interface()) })
	case reflect.Map:
		for it := rv.MapRange(); it.Next(); {
			out[fmt.Sprint(it.Key().Interface())] = Str(it.Value().Interface())
		}
	}
	return out
}

// eachField calls f with the JSON name and value of each exported field.
func eachField(rv reflect.Value, f func(name string, v reflect.Value)) {
	t := rv.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		f(name, rv.Field(i))
	}
}

var numberType = reflect.TypeFor[json.Number]()

func writeRepr(b *strings.Builder, rv reflect.Value) {
	for rv.Kind() == reflect.Interface || rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			b.WriteString("None")
			return
		}
		rv = rv.Elem()
	}
	if rv.IsValid() && rv.Type() == numberType {
		s := rv.String()
		if strings.ContainsAny(s, ".eE") {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				b.WriteString(Float(f))
				return
			}
		}
		b.WriteString(s)
		return
	}
	switch rv.Kind() {
	case reflect.Invalid:
		b.WriteString("None")
	case reflect.String:
		b.WriteString(Repr(rv.String()))
	case reflect.Bool:
		if rv.Bool() {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(Float(rv.Float()))
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			b.WriteString("None") // json.Marshal writes a nil slice as null
			return
		}
		b.WriteByte('[')
		for i := range rv.Len() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, rv.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		if rv.IsNil() {
			b.WriteString("None")
			return
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(x, y reflect.Value) int {
			return strings.Compare(fmt.Sprint(x.Interface()), fmt.Sprint(y.Interface()))
		})
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k)
			b.WriteString(": ")
			writeRepr(b, rv.MapIndex(k))
		}
		b.WriteByte('}')
	case reflect.Struct:
		b.WriteByte('{')
		first := true
		eachField(rv, func(name string, f reflect.Value) {
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(Repr(name))
			b.WriteString(": ")
			writeRepr(b, f)
		})
		b.WriteByte('}')
	default:
		b.WriteString(Repr(fmt.Sprint(rv.Interface())))
	}
}
