package buildinfo

import (
	"runtime"
	"testing"
)

func TestGet(t *testing.T) {
	old := [3]string{Version, Commit, Date}
	t.Cleanup(func() { Version, Commit, Date = old[0], old[1], old[2] })

	Version, Commit, Date = "", "", ""
	i := Get()
	if i.Version == "" || i.Commit == "" || i.Date == "" {
		t.Errorf("empty fields: %+v", i)
	}
	if i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("toolchain fields: %+v", i)
	}

	Version, Commit, Date = "v1.0.0", "0123456789abcdef0123", "2026-01-01T00:00:00Z"
	i = Get()
	if i.Version != "v1.0.0" || i.Commit != "0123456789abcdef0123" || i.Date != "2026-01-01T00:00:00Z" {
		t.Errorf("link-time values not used: %+v", i)
	}
	if got := i.Short(); got != "v1.0.0 (0123456789ab)" && got != "v1.0.0 (0123456789ab, modified)" {
		t.Errorf("Short = %q", got)
	}
}
