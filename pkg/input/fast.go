package input

import (
	"math"
	"strconv"
)

// FastObject parses the common /predict body — a flat JSON object of the
// model's features with plain number values, each once — into row. It
// returns false for anything else (strings, null, escapes, unknown or
// missing names, invalid or out-of-range values), and the caller then
// takes the general path, which explains every problem.
func (s *Schema) FastObject(body []byte, row []float64) bool {
	p := len(row)
	if p > 64 || s.Labels != nil { // labels take the general path
		return false
	}
	var seen uint64
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i++
	for {
		i = skipWS(body, i)
		if i >= len(body) || body[i] != '"' {
			return false
		}
		start := i + 1
		i = start
		for i < len(body) && body[i] != '"' {
			if body[i] == '\\' || body[i] < ' ' {
				return false
			}
			i++
		}
		if i >= len(body) {
			return false
		}
		j, ok := s.index[string(body[start:i])]
		if !ok || seen&(1<<j) != 0 {
			return false
		}
		seen |= 1 << j
		i = skipWS(body, i+1)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipWS(body, i+1)
		start = i
		if i = scanNumber(body, i); i < 0 {
			return false
		}
		v, err := strconv.ParseFloat(string(body[start:i]), 64)
		if err != nil || math.IsInf(v, 0) || v < s.Lo[j] || v > s.Hi[j] {
			return false
		}
		row[j] = v
		i = skipWS(body, i)
		if i >= len(body) {
			return false
		}
		if body[i] == ',' {
			i++
			continue
		}
		if body[i] != '}' {
			return false
		}
		break
	}
	return skipWS(body, i+1) == len(body) && seen == 1<<p-1
}

// scanNumber returns the end of the JSON number (RFC 8259's grammar:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?) that starts at b[i], or -1
// if none does. Forms that strconv.ParseFloat takes but JSON does not
// (+1, .5, 01, 1., 0x1p-2, Inf) are for the general path to refuse.
func scanNumber(b []byte, i int) int {
	digits := func(i int) int {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
