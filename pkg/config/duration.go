package config

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a duration as time.ParseDuration does, and also in
// days (d) and weeks (w), as Prometheus and most people write windows:
// "7d", "1d12h", "2w", "1.5d". A day is 24 hours.
func ParseDuration(s string) (time.Duration, error) {
	if !strings.ContainsAny(s, "dw") {
		return time.ParseDuration(s)
	}
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg, rest = rest[0] == '-', rest[1:]
	}
	if rest == "" {
		return 0, errors.New("time: invalid duration " + strconv.Quote(s))
	}
	var total time.Duration
	for rest != "" {
		// One number and its unit.
		i := 0
		for i < len(rest) && (rest[i] == '.' || rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		j := i
		for j < len(rest) && (rest[j] == '.' || rest[j] < '0' || rest[j] > '9') {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		var d time.Duration
		switch unit {
		case "d", "w":
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, errors.New("time: invalid duration " + strconv.Quote(s))
			}
			per := 24 * time.Hour
			if unit == "w" {
				per *= 7
			}
			f := v * float64(per)
			if f >= math.MaxInt64 {
				return 0, errors.New("time: invalid duration " + strconv.Quote(s) + ": too long")
			}
			d = time.Duration(f)
		default:
			var err error
			if d, err = time.ParseDuration(rest[:j]); err != nil || strings.HasPrefix(rest[:j], "-") || strings.HasPrefix(rest[:j], "+") {
				return 0, errors.New("time: invalid duration " + strconv.Quote(s))
			}
		}
		if total > math.MaxInt64-d {
			return 0, errors.New("time: invalid duration " + strconv.Quote(s) + ": too long")
		}
		total += d
		rest = rest[j:]
	}
	if neg {
		total = -total
	}
	return total, nil
}

// durationHook decodes a string into a time.Duration with ParseDuration.
func durationHook(from, to reflect.Type, data any) (any, error) {
	if to != durationType || from.Kind() != reflect.String {
		return data, nil
	}
	return ParseDuration(data.(string))
}
