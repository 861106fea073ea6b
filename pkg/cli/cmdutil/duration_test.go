package cmdutil

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestDurationVar(t *testing.T) {
	var since time.Duration
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	DurationVar(fs, &since, "since", time.Hour, "the last DURATION")
	if since != time.Hour || fs.Lookup("since").DefValue != "1h0m0s" || fs.Lookup("since").Value.Type() != "duration" {
		t.Fatalf("default %v, %q", since, fs.Lookup("since").DefValue)
	}
	if err := fs.Parse([]string{"--since", "7d"}); err != nil || since != 7*24*time.Hour {
		t.Fatalf("7d: %v, %v", since, err)
	}
	if err := fs.Parse([]string{"--since", "90m"}); err != nil || since != 90*time.Minute {
		t.Fatalf("90m: %v, %v", since, err)
	}
	err := fs.Parse([]string{"--since", "7days"})
	if err == nil || !strings.Contains(err.Error(), `invalid argument "7days" for "--since" flag: want a duration such as 30m, 24h or 7d`) {
		t.Errorf("7days: %v", err)
	}
}
