package uicmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/config"
)

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:5000": true, "[::1]:5000": true, "localhost:5000": true, "127.8.0.1:80": true,
		"0.0.0.0:5000": false, ":5000": false, "10.0.0.7:5000": false, "example.com:80": false, "bad": false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// Listening beyond loopback without API keys is refused before anything
// is opened, saying what to set.
func TestRefusesAnOpenNonLoopbackAddress(t *testing.T) {
	l := &config.Loaded{Config: config.Defaults()}
	l.Config.UI.Addr = "0.0.0.0:5000"
	l.Config.Serve.APIKeysEnv = ""
	l.Config.Serve.APIKeysFile = ""
	err := Run(&Options{Config: func() (*config.Loaded, error) { return l, nil }, LookupEnv: func(string) (string, bool) { return "", false }})
	var fe *cmdutil.FlagError
	if err == nil || !strings.Contains(err.Error(), "API keys") || !errors.As(err, &fe) {
		t.Fatalf("an open 0.0.0.0: %v", err)
	}
}
