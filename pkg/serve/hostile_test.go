package serve

import (
	"bytes"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/model"
)

// hostileBodies are ~4 MB bodies (the default body limit) of the shapes
// that blew the server's memory up when a batch was decoded whole before
// its length was checked: 2,000,000 numbers took it from 34 MB to 627 MB.
func hostileBodies() map[string]func(elem string) string {
	const size = 4 << 20
	list := func(elem string) string {
		n := size / (len(elem) + 1)
		return "[" + strings.TrimSuffix(strings.Repeat(elem+",", n), ",") + "]"
	}
	return map[string]func(string) string{
		"bare list": list,
		"instances": func(elem string) string { return `{"instances": ` + list(elem) + `}` },
	}
}

var hostileElems = map[string]string{
	"numbers":       "1",
	"empty objects": "{}",
	"deep arrays":   strings.Repeat("[", 2000) + strings.Repeat("]", 2000),
	"rows":          `{"a": 1, "b": 2, "c": 3}`,
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Every batch decoder stops at the row limit: a hostile body inside the
// body limit is refused (413, or 400 for what is not JSON of the right
// shape) having allocated a small part of its size, not many times it.
func TestHostileBatchesStopAtTheLimit(t *testing.T) {
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(t, 0)}
	if err := m.prepare(0.25, nil); err != nil {
		t.Fatal(err)
	}
	const limit = 10000 // serve.max_batch_rows' default
	decoders := map[string]func(body []byte) error{
		"/predict/batch": func(b []byte) error { _, err := DecodeBatch(m, b, limit); return err },
		"/invocations dataframe_records": func(b []byte) error {
			_, err := DecodeInvocations(m, wrap(`{"dataframe_records": `, b, `}`), false, limit)
			return err
		},
		"/invocations instances": func(b []byte) error {
			_, err := DecodeInvocations(m, wrap(`{"instances": `, b, `}`), false, limit)
			return err
		},
		"/invocations dataframe_split": func(b []byte) error {
			_, err := DecodeInvocations(m, wrap(`{"dataframe_split": {"columns": ["a", "b", "c"], "data": `, b, `}}`), false, limit)
			return err
		},
		"/v2 infer, one tensor": func(b []byte) error {
			_, err := DecodeOIP(m, wrap(`{"inputs": [{"name": "x", "shape": [3333, 3], "datatype": "FP64", "data": `, b, `}]}`), "", limit)
			return err
		},
		"/v2 infer, a shape over the limit": func(b []byte) error {
			_, err := DecodeOIP(m, wrap(`{"inputs": [{"name": "a", "shape": [2000000], "datatype": "FP64", "data": `, b, `}]}`), "", limit)
			return err
		},
		"/feedback": func(b []byte) error { _, err := DecodeFeedback(wrap(`{"feedback": `, b, `}`), maxFeedback); return err },
	}
	for route, decode := range decoders {
		for shape, body := range hostileBodies() {
			for elem, e := range hostileElems {
				b := []byte(body(e))
				if shape == "instances" && route != "/predict/batch" {
					continue // the route wraps the list itself
				}
				t.Run(route+"/"+shape+"/"+elem, func(t *testing.T) {
					var err error
					n := allocated(func() { err = decode(b) })
					re, ok := errors.AsType[*requestError](err)
					if !ok || re.Status != 413 && re.Status != 400 && re.Status != 422 {
						t.Fatalf("err = %v, want a 413, 400 or 422", err)
					}
					if elem == "numbers" && re.Status == 422 {
						t.Errorf("2,000,000 elements gave a 422 with %d problems, not a 413", re.Total)
					}
					if n > 8<<20 {
						t.Errorf("decoding a %d-byte body allocated %d MB (status %d: %s)", len(b), n>>20, re.Status, re.Msg)
					}
				})
			}
		}
	}
}

func wrap(pre string, b []byte, post string) []byte {
	return bytes.Join([][]byte{[]byte(pre), b, []byte(post)}, nil)
}

// A batch of exactly the limit is served; one more row is a 413 naming
// the limit, whatever the elements are.
func TestBatchLimitIsExact(t *testing.T) {
	m := &Model{Name: "m", Version: "1", Artifact: fitModel(t, 0)}
	if err := m.prepare(0.25, nil); err != nil {
		t.Fatal(err)
	}
	row := `{"a": 1, "b": 2, "c": 3}`
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"limit", "[" + strings.TrimSuffix(strings.Repeat(row+",", 5), ",") + "]", 200},
		{"limit+1 rows", "[" + strings.TrimSuffix(strings.Repeat(row+",", 6), ",") + "]", 413},
		{"limit+1 numbers", "[1,1,1,1,1,1]", 413},
		{"limit numbers", "[1,1,1,1,1]", 422},
	} {
		X, err := DecodeBatch(m, []byte(tc.body), 5)
		status := 200
		if re, ok := errors.AsType[*requestError](err); ok {
			status = re.Status
		} else if err != nil {
			t.Fatal(err)
		}
		if status != tc.want {
			t.Errorf("%s: status %d, want %d (%v)", tc.name, status, tc.want, err)
		}
		if status == 413 && !strings.Contains(err.Error(), "more than 5 rows") {
			t.Errorf("%s: %v", tc.name, err)
		}
		if status == 200 && X.Rows != 5 {
			t.Errorf("%s: %d rows", tc.name, X.Rows)
		}
	}
	_ = model.Matrix{}
}
