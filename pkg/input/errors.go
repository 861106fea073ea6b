package input

import (
	"fmt"
)

// Problem is one invalid field, shaped like pydantic's (FastAPI's 422
// "detail" entries): where (loc), what (msg), a machine-readable type.
type Problem struct {
	Loc   []any  `json:"loc"`
	Msg   string `json:"msg"`
	Type  string `json:"type"`
	Input any    `json:"input,omitempty"`
}

// Problem types (the reason label of the server's validation metric).
const (
	Missing  = "missing"
	Extra    = "extra_forbidden"
	NotNum   = "float_parsing"
	Null     = "null"
	Finite   = "finite_number"
	TooLow   = "greater_than_equal"
	TooHigh  = "less_than_equal"
	RowShape = "row_shape"
	NotDict  = "dict_type"
	Repeated = "duplicate"
	Label    = "enum" // not one of a category's labels
)

// MaxListed bounds the problems listed (the count is complete).
const MaxListed = 100

// InvalidError is rows with invalid fields: the first MaxListed problems,
// and how many there were.
type InvalidError struct {
	Problems []Problem
	Total    int
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%d invalid field(s)", e.Total) }

// TooManyError is more rows (or elements) than the limit.
type TooManyError struct {
	Limit int
	What  string // "rows", "feedback items"
}

func (e *TooManyError) Error() string {
	return fmt.Sprintf("more than %d %s in one request: split the batch", e.Limit, e.What)
}

// SyntaxError is input that cannot be read: malformed JSON or CSV, or not
// the shape asked for.
type SyntaxError struct{ Msg string }

func (e *SyntaxError) Error() string { return e.Msg }

// Malformed returns a SyntaxError.
func Malformed(format string, args ...any) error {
	return &SyntaxError{Msg: fmt.Sprintf(format, args...)}
}
