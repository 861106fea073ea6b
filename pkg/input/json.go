package input

import (
	"bytes"
	"errors"
	"io"

	"github.com/go-json-experiment/json/jsontext"
)

// JSON reads a body as JSON, token by token (jsontext, the
// encoding/json/v2 tokenizer), so that a batch is decoded as it is read
// and stops at the row limit: no part of a body is materialised beyond
// what the rows need. It is strict where encoding/json is lenient: a key
// given twice in one object is an error, and so is anything after the
// top-level value. Its errors are SyntaxErrors (or TooManyErrors).
//
// Values returned by Value and Name are slices of the body (a
// bytes.Buffer given to jsontext is read in place, never copied or
// changed), valid for as long as the body is.
type JSON struct {
	d *jsontext.Decoder
}

// NewJSON reads body.
func NewJSON(body []byte) *JSON {
	return &JSON{d: jsontext.NewDecoder(bytes.NewBuffer(body))}
}

// jsonError turns a tokenizer error into a SyntaxError.
func jsonError(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &se):
		return Malformed("a key is given twice in one object (at %s): send each key once; a proxy that reads the first value and housectl the last would not agree on what was asked", pointerOrRoot(se.JSONPointer))
	case errors.As(err, &se):
		return Malformed("malformed JSON at byte %d: %v; ensure that the input is a valid JSON formatted string", se.ByteOffset, se.Err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Malformed("malformed JSON: the body ends before its JSON value does; ensure that the input is a valid JSON formatted string")
	}
	return Malformed("malformed JSON: %v", err)
}

func pointerOrRoot(p jsontext.Pointer) string {
	if p == "" {
		return "the top level"
	}
	return string(p)
}

// Peek returns the kind of the next value: '{', '[', '"', '0' (a number),
// 'n', 't', 'f', or '}' and ']' at the end of an object or array.
func (in *JSON) Peek() (jsontext.Kind, error) {
	k := in.d.PeekKind()
	if k == 0 {
		_, err := in.d.ReadToken()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return 0, jsonError(err)
	}
	return k, nil
}

// Open reads the '{' or '[' that starts a value.
func (in *JSON) Open() error {
	if _, err := in.d.ReadToken(); err != nil {
		return jsonError(err)
	}
	return nil
}

// Close reads the '}' or ']' that ends a value.
func (in *JSON) Close() error { return in.Open() }

// Value reads one whole value (validated) as its raw bytes.
func (in *JSON) Value() (jsontext.Value, error) {
	v, err := in.d.ReadValue()
	if err != nil {
		return nil, jsonError(err)
	}
	return v, nil
}

// Skip reads past one value.
func (in *JSON) Skip() error {
	if err := in.d.SkipValue(); err != nil {
		return jsonError(err)
	}
	return nil
}

// Name reads an object's next key.
func (in *JSON) Name() (string, error) {
	v, err := in.d.ReadValue()
	if err != nil {
		return "", jsonError(err)
	}
	return Unquote(v), nil
}

// Unquote returns a JSON string's text; it allocates only for escapes.
func Unquote(v jsontext.Value) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return string(v)
	}
	return string(b)
}

// End requires that nothing but whitespace follows the top-level value.
func (in *JSON) End() error {
	if _, err := in.d.ReadValue(); !errors.Is(err, io.EOF) {
		if err == nil {
			return Malformed("malformed JSON: more than one JSON value in the body; send one")
		}
		return jsonError(err)
	}
	return nil
}

// tooMany is the error of a batch over the row limit.
func tooMany(limit int, what string) error { return &TooManyError{Limit: limit, What: what} }

// Elems reads an array, calling each for every element with the element
// still unread, and stops with a 413 when the array has more than limit
// elements, at the first one over: the rest of the body is not decoded.
// each must read (or skip) exactly one value.
func (in *JSON) Elems(limit int, what string, each func(i int) error) error {
	if err := in.Open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k == ']' {
			return in.Close()
		}
		if i == limit {
			return tooMany(limit, what)
		}
		if err := each(i); err != nil {
			return err
		}
	}
}

// Members reads an object, calling each with every key and the value
// still unread. each must read (or skip) exactly one value.
func (in *JSON) Members(each func(key string) error) error {
	if err := in.Open(); err != nil {
		return err
	}
	for {
		k, err := in.Peek()
		if err != nil {
			return err
		}
		if k == '}' {
			return in.Close()
		}
		key, err := in.Name()
		if err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
	}
}
