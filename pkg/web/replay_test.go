package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/housectl/housectl/internal/testenv"
	"github.com/housectl/housectl/pkg/registry"
	"github.com/housectl/housectl/pkg/tracking"
)

// exchange is one recorded request and response of the real MLflow
// client with a real MLflow server (../shared/reference/mlflow-traffic).
type exchange struct {
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	ReqCtype  *string         `json:"req_ctype"`
	Req       json.RawMessage `json:"req"`
	Status    int             `json:"status"`
	RespCtype *string         `json:"resp_ctype"`
	Resp      json.RawMessage `json:"resp"`
}

func readTraffic(t *testing.T, name string) []exchange {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.SharedDir(t), "reference", "mlflow-traffic", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var e exchange
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// ids maps the recorded server's ids (experiments, runs) to ours.
type ids map[string]string

// learn records, for each id field of the recorded response, the value
// ours gave in its place.
func (m ids) learn(rec, got any) {
	switch r := rec.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return
		}
		for k, v := range r {
			switch k {
			case "experiment_id", "run_id", "run_uuid":
				if rs, ok := v.(string); ok {
					if gs, ok := g[k].(string); ok && rs != gs {
						m[rs] = gs
					}
				}
			default:
				m.learn(v, g[k])
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return
		}
		for i := range min(len(r), len(g)) {
			m.learn(r[i], g[i])
		}
	}
}

// swap replaces recorded ids in a string: whole path segments, whole
// values, and long ids (run ids) anywhere.
func (m ids) swap(s string) string {
	if v, ok := m[s]; ok {
		return v
	}
	for old, v := range m {
		if len(old) >= 16 {
			s = strings.ReplaceAll(s, old, v)
		}
	}
	if strings.Contains(s, "/") {
		parts := strings.Split(s, "/")
		for i, p := range parts {
			if v, ok := m[p]; ok {
				parts[i] = v
			}
		}
		s = strings.Join(parts, "/")
	}
	return s
}

// idFields are the request fields that carry ids.
var idFields = []string{"experiment_id", "experiment_ids", "run_id", "run_uuid", "source", "model_json", "path"}

// swapJSON swaps the ids in the id fields of a request body; other
// values ("version": "1") stay as they are.
func (m ids) swapJSON(v any, field string) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = m.swapJSON(e, k)
		}
	case []any:
		for i, e := range x {
			x[i] = m.swapJSON(e, field)
		}
	case string:
		if slices.Contains(idFields, field) {
			return m.swap(x)
		}
	}
	return v
}

func (m ids) swapURL(p string) string {
	u, err := url.Parse(p)
	if err != nil {
		return p
	}
	if rest, ok := strings.CutPrefix(u.Path, "/api/2.0/mlflow-artifacts/artifacts/"); ok {
		u.Path = "/api/2.0/mlflow-artifacts/artifacts/" + m.swap(rest)
	}
	q := u.Query()
	for k, vs := range q {
		if !slices.Contains(idFields, k) {
			continue
		}
		for i, v := range vs {
			vs[i] = m.swap(v)
		}
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// exactKeys are compared by value, not only by type.
var exactKeys = []string{"status", "lifecycle_stage", "key", "is_dir", "path", "current_stage", "alias", "name", "error_code"}

// sameShape reports the first difference between the recorded value and
// ours: types, object keys (ours may add keys), list lengths, and the
// values of exactKeys.
func sameShape(at string, rec, got any) error {
	switch r := rec.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, got)
		}
		for k, v := range r {
			gv, ok := g[k]
			if !ok {
				return fmt.Errorf("%s: no %q (recorded %v)", at, k, v)
			}
			if slices.Contains(exactKeys, k) {
				if _, isStr := v.(string); isStr && fmt.Sprint(v) != fmt.Sprint(gv) {
					return fmt.Errorf("%s.%s = %v, recorded %v", at, k, gv, v)
				}
			}
			if err := sameShape(at+"."+k, v, gv); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Errorf("%s: want a list, got %T", at, got)
		}
		if len(r) != len(g) {
			return fmt.Errorf("%s: %d items, recorded %d", at, len(g), len(r))
		}
		// Key-value lists (params, metrics, tags) are compared by key: the
		// client reads them into dictionaries.
		byKey := func(l []any) []any {
			out := slices.Clone(l)
			slices.SortStableFunc(out, func(a, b any) int {
				ka, _ := a.(map[string]any)["key"].(string)
				kb, _ := b.(map[string]any)["key"].(string)
				return strings.Compare(ka, kb)
			})
			return out
		}
		keyed := func(l []any) bool {
			return len(l) > 0 && !slices.ContainsFunc(l, func(v any) bool {
				o, ok := v.(map[string]any)
				_, has := o["key"]
				return !ok || !has
			})
		}
		if keyed(r) && keyed(g) {
			r, g = byKey(r), byKey(g)
		}
		for i := range r {
			if err := sameShape(fmt.Sprintf("%s[%d]", at, i), r[i], g[i]); err != nil {
				return err
			}
		}
	case string:
		if _, ok := got.(string); !ok {
			return fmt.Errorf("%s: want a string, got %T %v", at, got, got)
		}
	case float64:
		if _, ok := got.(float64); !ok {
			return fmt.Errorf("%s: want a number, got %T %v", at, got, got)
		}
	case bool:
		if _, ok := got.(bool); !ok {
			return fmt.Errorf("%s: want a bool, got %T", at, got)
		}
	}
	return nil
}

// replay sends every recorded request of the files, in order, to one
// fresh server over a new store (the files of one recording session
// build on each other), with the recorded ids swapped for ours, and checks
// each status and response shape.
func replay(t *testing.T, names ...string) {
	store := &tracking.Store{Dir: t.TempDir(), Now: time.Now}
	s, err := New(Options{Store: store, Registry: registry.Over(store, registry.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	m := ids{}
	for _, name := range names {
		replayFile(t, ts.URL, name, m)
	}
}

func replayFile(t *testing.T, base, name string, m ids) {
	for i, e := range readTraffic(t, name) {
		target := m.swapURL(e.Path)
		var body io.Reader
		ctype := ""
		if e.ReqCtype != nil {
			ctype = *e.ReqCtype
		}
		if len(e.Req) > 0 && string(e.Req) != "null" {
			if strings.HasPrefix(ctype, "application/json") {
				var v any
				if err := json.Unmarshal(e.Req, &v); err != nil {
					t.Fatal(err)
				}
				b, _ := json.Marshal(m.swapJSON(v, ""))
				body = bytes.NewReader(b)
			} else {
				var raw string
				if err := json.Unmarshal(e.Req, &raw); err != nil {
					t.Fatal(err)
				}
				body = strings.NewReader(raw)
			}
		}
		req, err := http.NewRequestWithContext(t.Context(), e.Method, base+target, body)
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.Header.Set("User-Agent", "mlflow-python-client/2.17.2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		where := fmt.Sprintf("%s line %d: %s %s", name, i+1, e.Method, target)
		if resp.StatusCode != e.Status {
			t.Errorf("%s: status %d, recorded %d: %s", where, resp.StatusCode, e.Status, got)
			continue
		}
		if e.RespCtype == nil || !strings.HasPrefix(*e.RespCtype, "application/json") {
			var raw string
			if json.Unmarshal(e.Resp, &raw) == nil && !strings.HasPrefix(raw, "<") && raw != string(got) {
				t.Errorf("%s: body %q, recorded %q", where, got, raw)
			}
			continue
		}
		var rec, ours any
		if err := json.Unmarshal(e.Resp, &rec); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(got, &ours); err != nil {
			t.Errorf("%s: not JSON: %s", where, got)
			continue
		}
		m.learn(rec, ours)
		if err := sameShape("response", rec, ours); err != nil {
			t.Errorf("%s: %v\n  ours:     %s\n  recorded: %s", where, err, got, e.Resp)
		}
	}
}

// Every request the real MLflow client made to a real MLflow 2.17.2 and
// 3.6 server, replayed against housectl ui's API: each status and each
// response's shape as recorded (ids and times may differ).
func TestReplayMLflowTraffic(t *testing.T) {
	for _, session := range [][]string{
		{"v2_localartifacts_check.jsonl"},
		{"v2_proxied_check.jsonl", "v2_proxied_misc.jsonl", "v2_proxied_models_serve.jsonl"},
		{"v3_proxied_check.jsonl", "v3_proxied_misc.jsonl"},
	} {
		t.Run(strings.TrimSuffix(session[0], "_check.jsonl"), func(t *testing.T) { replay(t, session...) })
	}
}
