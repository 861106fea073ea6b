package data_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/data"
)

func TestAppendPythonFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{322, "322.0"},
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{4.526, "4.526"},
		{880.0 / 126.0, "6.984126984126984"},
		{-122.23, "-122.23"},
		{0.1, "0.1"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{0.000015, "1.5e-05"},
		{1234567890123456, "1234567890123456.0"},
		{1e16, "1e+16"},
		{1.5e16, "1.5e+16"},
		{1e22, "1e+22"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.NaN(), "nan"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{0.14999, "0.14999"},
		{5.00001, "5.00001"},
	}
	for _, tt := range tests {
		got := string(data.AppendPythonFloat(nil, tt.in))
		if got != tt.want {
			t.Errorf("AppendPythonFloat(%v) = %q, want %q", tt.in, got, tt.want)
		}
		if v, err := strconv.ParseFloat(got, 64); err == nil && !math.IsNaN(tt.in) && v != tt.in {
			t.Errorf("%q does not round-trip to %v", got, tt.in)
		}
	}
}

// pythonFloatReference is the two-pass formulation: the shortest 'e' form
// decides the notation, the shortest 'f' form gives the fixed digits.
func pythonFloatReference(v float64) string {
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	f := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(f, ".") {
		f += ".0"
	}
	return f
}

func TestAppendPythonFloatMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200000 {
		var v float64
		switch i % 4 {
		case 0:
			v = math.Float64frombits(r.Uint64())
		case 1:
			v = (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(44)-22))
		case 2:
			v = float64(r.IntN(1_000_000)) / 1000
		default:
			v = math.Round(r.NormFloat64()*1e6) * math.Pow(10, float64(r.IntN(30)-10))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) || v == 0 {
			continue
		}
		if got, want := string(data.AppendPythonFloat(nil, v)), pythonFloatReference(v); got != want {
			t.Fatalf("AppendPythonFloat(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestDeriveCaliforniaFormulas(t *testing.T) {
	// Two rows in cal_housing.data's column order: longitude, latitude,
	// housingMedianAge, totalRooms, totalBedrooms, population, households,
	// medianIncome, medianHouseValue.
	in := "-122.230000,37.880000,41.000000,880.000000,129.000000,322.000000,126.000000,8.325200,452600.000000\n" +
		"-120.5,35.25,7,10,3,9,3,1.5,100000\r\n\n"
	csv, rows, err := data.DeriveCalifornia(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Fatalf("rows = %d, want 2 (the blank line is skipped)", rows)
	}
	lines := strings.Split(strings.TrimSuffix(string(csv), "\n"), "\n")
	want := []string{
		"MedInc,HouseAge,AveRooms,AveBedrms,Population,AveOccup,Latitude,Longitude,MedHouseVal",
		"8.3252,41.0," + py(880.0/126) + "," + py(129.0/126) + ",322.0," + py(322.0/126) + ",37.88,-122.23,4.526",
		"1.5,7.0," + py(10.0/3) + ",1.0,9.0,3.0,35.25,-120.5,1.0",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), csv)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want[i])
		}
	}
}

func py(v float64) string { return string(data.AppendPythonFloat(nil, v)) }

func TestDeriveCaliforniaRejectsBadRows(t *testing.T) {
	tests := map[string]string{
		"8 fields":       "1,2,3,4,5,6,7,8\n",
		"not a number":   "1,2,3,4,5,6,7,x,9\n",
		"NaN":            "1,2,3,4,5,6,7,nan,9\n",
		"households 0":   "1,2,3,4,5,6,0,8,9\n",
		"no rows at all": "",
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			_, _, err := data.DeriveCalifornia(strings.NewReader(in))
			if err == nil {
				t.Fatal("no error")
			}
			var ae *data.ArchiveError
			if !errors.As(err, &ae) {
				t.Errorf("error %v is not an *ArchiveError", err)
			}
		})
	}
}

// goldenFrameSHA256 is the SHA-256 of scikit-learn 1.2.1's
// fetch_california_housing(as_frame=True).frame written by pandas 1.5.3's
// to_csv(index=False), produced by scripts/sklearn_frame.py from the real
// archive. `make parity` recomputes it with scikit-learn itself.
const goldenFrameSHA256 = "94ef369b909f5c725340b512b7c9a05c1550a554b6592d29303990e3ba521a1f"

func TestDeriveCaliforniaEqualsScikitLearn(t *testing.T) {
	csv := testenv.CaliforniaFrame(t)
	if rows := bytes.Count(csv, []byte{'\n'}) - 1; rows != 20640 {
		t.Errorf("rows = %d, want 20640", rows)
	}
	if got := testenv.SHA256(csv); got != goldenFrameSHA256 {
		t.Errorf("derived frame sha256 = %s, want scikit-learn's %s", got, goldenFrameSHA256)
	}
}
