package version

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/buildinfo"
	"github.com/housectl/housectl/pkg/ui"
)

func TestRun(t *testing.T) {
	info := buildinfo.Info{Version: "v1.2.3", Commit: "abc123", Date: "2026-11-28T00:00:00Z", Modified: true, GoVersion: "go1.26.8", Platform: "linux/amd64"}
	ios, _, out, _ := ui.Test()
	if err := Run(&Options{IO: ios, Info: func() buildinfo.Info { return info }}); err != nil {
		t.Fatal(err)
	}
	want := "housectl v1.2.3\ncommit:  abc123 (modified)\nbuilt:   2026-11-28T00:00:00Z\ngo:      go1.26.8 linux/amd64\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
	out.Reset()
	if err := Run(&Options{IO: ios, Info: func() buildinfo.Info { return info }, JSON: true}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "commit", "date", "modified", "go_version", "platform"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if !strings.Contains(out.String(), `"commit": "abc123"`) {
		t.Errorf("JSON: %s", out)
	}
}
