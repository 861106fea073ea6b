package data

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// CaliforniaMember is the archive member holding the census rows.
const CaliforniaMember = "CaliforniaHousing/cal_housing.data"

// CaliforniaColumns are the derived frame's columns, as scikit-learn's
// fetch_california_housing(as_frame=True).frame names them; the last is the
// target.
var CaliforniaColumns = []string{
	"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude", "MedHouseVal",
}

// Raw column order in cal_housing.data.
const (
	rawLongitude = iota
	rawLatitude
	rawHousingMedianAge
	rawTotalRooms
	rawTotalBedrooms
	rawPopulation
	rawHouseholds
	rawMedianIncome
	rawMedianHouseValue
	rawColumns
)

// DeriveCalifornia reads cal_housing.data (9 comma-separated numbers a line,
// no header) and returns scikit-learn's frame as CSV with a header, one row
// per input line. The arithmetic is scikit-learn's, in float64:
// AveRooms = totalRooms/households, AveBedrms = totalBedrooms/households,
// AveOccup = population/households, MedHouseVal = medianHouseValue/100000.
// Numbers are printed as Python's repr prints them (shortest round-trip
// digits), so the file equals pandas' DataFrame.to_csv(index=False) of
// that frame byte for byte and every value parses back to the same float64.
func DeriveCalifornia(r io.Reader) (csv []byte, rows int, err error) {
	var out bytes.Buffer
	out.Grow(2 << 20)
	out.WriteString(strings.Join(CaliforniaColumns, ","))
	out.WriteByte('\n')
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var raw [rawColumns]float64
	var num []byte
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		if n := bytes.Count(text, []byte{','}) + 1; n != rawColumns {
			return nil, 0, &ArchiveError{Member: CaliforniaMember, Reason: fmt.Sprintf("line %d has %d fields, want %d", line, n, rawColumns)}
		}
		for i := range rawColumns {
			fb := text
			if j := bytes.IndexByte(text, ','); j >= 0 {
				fb, text = text[:j], text[j+1:]
			}
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(fb)), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, 0, &ArchiveError{Member: CaliforniaMember, Reason: fmt.Sprintf("line %d field %d: %q is not a finite number", line, i+1, fb)}
			}
			raw[i] = v
		}
		hh := raw[rawHouseholds]
		if hh == 0 {
			return nil, 0, &ArchiveError{Member: CaliforniaMember, Reason: fmt.Sprintf("line %d: households is 0, the per-household averages are undefined", line)}
		}
		row := [...]float64{
			raw[rawMedianIncome],
			raw[rawHousingMedianAge],
			raw[rawTotalRooms] / hh,
			raw[rawTotalBedrooms] / hh,
			raw[rawPopulation],
			raw[rawPopulation] / hh,
			raw[rawLatitude],
			raw[rawLongitude],
			raw[rawMedianHouseValue] / 100000.0,
		}
		for i, v := range row {
			if i > 0 {
				out.WriteByte(',')
			}
			num = AppendPythonFloat(num[:0], v)
			out.Write(num)
		}
		out.WriteByte('\n')
		rows++
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", CaliforniaMember, err)
	}
	if rows == 0 {
		return nil, 0, &ArchiveError{Member: CaliforniaMember, Reason: "it holds no rows"}
	}
	return out.Bytes(), rows, nil
}

// AppendPythonFloat appends v as Python's repr(float) writes it: the
// shortest digits that round-trip, fixed notation for decimal exponents in
// [-4, 16) with at least one digit after the point ("322.0"), scientific
// otherwise ("1e-05", "1.5e+16"); "nan", "inf", "-inf".
func AppendPythonFloat(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "nan"...)
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	case v == 0:
		if math.Signbit(v) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// One shortest conversion gives the digits and the decimal exponent;
	// the fixed form is laid out from them by hand.
	var eb [32]byte
	e := strconv.AppendFloat(eb[:0], v, 'e', -1, 64)
	i := bytes.IndexByte(e, 'e')
	exp, _ := strconv.Atoi(string(e[i+1:]))
	if exp < -4 || exp >= 16 {
		return append(dst, e...)
	}
	mant := e[:i]
	if mant[0] == '-' {
		dst = append(dst, '-')
		mant = mant[1:]
	}
	var db [24]byte
	digits := append(db[:0], mant[0])
	if len(mant) > 2 {
		digits = append(digits, mant[2:]...) // skip the point
	}
	if exp < 0 {
		dst = append(dst, "0."...)
		for range -exp - 1 {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	if len(digits) <= exp+1 {
		dst = append(dst, digits...)
		for range exp + 1 - len(digits) {
			dst = append(dst, '0')
		}
		return append(dst, ".0"...)
	}
	dst = append(dst, digits[:exp+1]...)
	dst = append(dst, '.')
	return append(dst, digits[exp+1:]...)
}
