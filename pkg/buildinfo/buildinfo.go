// Package buildinfo reports what binary is running: its version, the commit
// and date it was built from, and the Go toolchain that built it.
//
// Release builds set Version, Commit and Date with -ldflags -X; other builds
// fall back to what the Go toolchain records (debug.ReadBuildInfo).
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time: -X github.com/housectl/housectl/pkg/buildinfo.Version=v1.2.3 and so on.
var (
	Version = ""
	Commit  = ""
	Date    = ""
)

// Info describes the running binary. Its JSON field names are stable.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

// Get returns the build information, preferring link-time values and filling
// the gaps from the module and VCS data the toolchain embedded. Unknown fields
// read "unknown" rather than being empty.
func Get() Info {
	info := Info{
		Version:   Version,
		Commit:    Commit,
		Date:      Date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = s.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	if info.Date == "" {
		info.Date = "unknown"
	}
	return info
}

// Short is the version and an abbreviated commit, as recorded in run lineage.
func (i Info) Short() string {
	c := i.Commit
	if len(c) > 12 {
		c = c[:12]
	}
	s := i.Version + " (" + c
	if i.Modified {
		s += ", modified"
	}
	return s + ")"
}
