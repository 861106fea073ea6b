package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/go-json-experiment/json/jsontext"
)

// jsonIn reads a request body as JSON, token by token (jsontext, the
// encoding/json/v2 tokenizer), so that a batch is decoded as it is read
// and stops at the row limit: no part of a body is materialised beyond
// what the rows need. It is strict where encoding/json is lenient: a key
// given twice in one object is an error, and so is anything after the
// top-level value.
//
// Values returned by value and name are slices of the body (a
// bytes.Buffer given to jsontext is read in place, never copied or
// changed), valid for as long as the body is.
type jsonIn struct {
	d *jsontext.Decoder
}

func newJSONIn(body []byte) *jsonIn {
	return &jsonIn{d: jsontext.NewDecoder(bytes.NewBuffer(body))}
}

// jsonError turns a tokenizer error into the client's 400.
func jsonError(err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, jsontext.ErrDuplicateName) && errors.As(err, &se):
		return badRequest("a key is given twice in one object (at %s): send each key once; a proxy that reads the first value and housectl the last would not agree on what was asked", pointerOrRoot(se.JSONPointer))
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v; ensure that the input is a valid JSON formatted string", se.ByteOffset, se.Err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends before its JSON value does; ensure that the input is a valid JSON formatted string")
	}
	return badRequest("malformed JSON: %v", err)
}

func pointerOrRoot(p jsontext.Pointer) string {
	if p == "" {
		return "the top level"
	}
	return string(p)
}

// peek returns the kind of the next value: '{', '[', '"', '0' (a number),
// 'n', 't', 'f', or '}' and ']' at the end of an object or array.
func (in *jsonIn) peek() (jsontext.Kind, error) {
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

// open reads the '{' or '[' that starts a value.
func (in *jsonIn) open() error {
	if _, err := in.d.ReadToken(); err != nil {
		return jsonError(err)
	}
	return nil
}

// close reads the '}' or ']' that ends a value.
func (in *jsonIn) close() error { return in.open() }

// value reads one whole value (validated) as its raw bytes.
func (in *jsonIn) value() (jsontext.Value, error) {
	v, err := in.d.ReadValue()
	if err != nil {
		return nil, jsonError(err)
	}
	return v, nil
}

// skip reads past one value.
func (in *jsonIn) skip() error {
	if err := in.d.SkipValue(); err != nil {
		return jsonError(err)
	}
	return nil
}

// name reads an object's next key.
func (in *jsonIn) name() (string, error) {
	v, err := in.d.ReadValue()
	if err != nil {
		return "", jsonError(err)
	}
	return unquote(v), nil
}

// unquote returns a JSON string's text; it allocates only for escapes.
func unquote(v jsontext.Value) string {
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1])
	}
	b, err := jsontext.AppendUnquote(nil, v)
	if err != nil {
		return string(v)
	}
	return string(b)
}

// end requires that nothing but whitespace follows the top-level value.
func (in *jsonIn) end() error {
	if _, err := in.d.ReadValue(); !errors.Is(err, io.EOF) {
		if err == nil {
			return badRequest("malformed JSON: more than one JSON value in the body; send one")
		}
		return jsonError(err)
	}
	return nil
}

// tooMany is the 413 of a batch over the row limit.
func tooMany(limit int, what string) error {
	return &requestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("more than %d %s in one request: split the batch (serve.max_batch_rows)", limit, what), Code: "BAD_REQUEST"}
}

// elems reads an array, calling each for every element with the element
// still unread, and stops with a 413 when the array has more than limit
// elements, at the first one over: the rest of the body is not decoded.
// each must read (or skip) exactly one value.
func (in *jsonIn) elems(limit int, what string, each func(i int) error) error {
	if err := in.open(); err != nil {
		return err
	}
	for i := 0; ; i++ {
		k, err := in.peek()
		if err != nil {
			return err
		}
		if k == ']' {
			return in.close()
		}
		if i == limit {
			return tooMany(limit, what)
		}
		if err := each(i); err != nil {
			return err
		}
	}
}

// members reads an object, calling each with every key and the value
// still unread. each must read (or skip) exactly one value.
func (in *jsonIn) members(each func(key string) error) error {
	if err := in.open(); err != nil {
		return err
	}
	for {
		k, err := in.peek()
		if err != nil {
			return err
		}
		if k == '}' {
			return in.close()
		}
		key, err := in.name()
		if err != nil {
			return err
		}
		if err := each(key); err != nil {
			return err
		}
	}
}
