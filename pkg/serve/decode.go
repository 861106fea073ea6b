package serve

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/housectl/housectl/pkg/input"
	"github.com/housectl/housectl/pkg/model"
)

// FieldError is one validation problem (input.Problem), shaped like
// pydantic's: FastAPI's 422 "detail" entries.
type FieldError = input.Problem

// requestError is a failure that is the client's: status, message, and
// the field problems for a 422.
type requestError struct {
	Status int
	Msg    string
	Fields []FieldError
	Total  int // all field problems, Fields may hold fewer
	Code   string
}

func (e *requestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) *requestError {
	return &requestError{Status: 400, Msg: fmt.Sprintf(format, args...), Code: "BAD_REQUEST"}
}

// asRequest maps the input package's errors to the client's statuses:
// malformed input 400, too many rows 413, invalid fields 422.
func asRequest(err error) error {
	var (
		se *input.SyntaxError
		tm *input.TooManyError
		ie *input.InvalidError
	)
	switch {
	case errors.As(err, &se):
		return badRequest("%s", se.Msg)
	case errors.As(err, &tm):
		what := "(serve.max_batch_rows)"
		if tm.What != "rows" {
			what = ""
		}
		return &requestError{Status: http.StatusRequestEntityTooLarge, Msg: strings.TrimSpace(tm.Error() + " " + what), Code: "BAD_REQUEST"}
	case errors.As(err, &ie):
		return &requestError{Status: http.StatusUnprocessableEntity, Msg: ie.Error(), Fields: ie.Problems, Total: ie.Total, Code: "INVALID_PARAMETER_VALUE"}
	}
	return err
}

// matrix finishes a table: its rows, or its problems as the client's error.
func matrix(t *input.Table, err error) (model.Matrix, error) {
	if err == nil {
		var X model.Matrix
		X, err = t.Done()
		if err == nil {
			return X, nil
		}
	}
	return model.Matrix{}, asRequest(err)
}

// DecodePredict reads POST /predict: one object of named features.
func DecodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	row := make([]float64, len(m.Artifact.Header.Features))
	if m.Schema.FastObject(body, row) {
		return model.Matrix{Rows: 1, Cols: len(row), Data: row}, nil
	}
	return decodePredict(m, body, limit)
}

// decodePredict is DecodePredict's general path, which fastObject
// shortcuts: FuzzFastPathAgrees holds the two to the same answers.
func decodePredict(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := input.NewJSON(body)
	t := input.NewTable(m.Schema, limit, "body")
	err := t.Object(in)
	if err == nil {
		err = in.End()
	}
	return matrix(t, err)
}

const batchShape = `the body must be {"instances": [{feature: number, ...}, ...]} or a JSON array of such objects`

// DecodeBatch reads POST /predict/batch: {"instances": [{...}, ...]} or a
// bare array of objects. It stops at the first element over limit.
func DecodeBatch(m *Model, body []byte, limit int) (model.Matrix, error) {
	in := input.NewJSON(body)
	t := input.NewTable(m.Schema, limit, "body")
	rows := func(pre ...any) error {
		if k, err := in.Peek(); err != nil {
			return err
		} else if k != '[' {
			return badRequest(batchShape)
		}
		t.SetPrefix(pre...)
		return in.Elems(limit, "rows", func(i int) error { return t.Object(in, i) })
	}
	k, err := in.Peek()
	if err != nil {
		return model.Matrix{}, asRequest(err)
	}
	switch k {
	case '{':
		found := false
		err = in.Members(func(key string) error {
			if key != "instances" {
				return badRequest(batchShape+": unknown key %q", key)
			}
			found = true
			return rows("body", "instances")
		})
		if err == nil && !found {
			err = badRequest(batchShape)
		}
	case '[':
		err = rows("body")
	default:
		err = badRequest(batchShape)
	}
	if err == nil {
		err = in.End()
	}
	return matrix(t, err)
}
