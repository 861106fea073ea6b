package config

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"30s", 30 * time.Second}, {"1h30m", 90 * time.Minute}, {"250ms", 250 * time.Millisecond}, {"0", 0},
		{"7d", 7 * day}, {"1d12h", 36 * time.Hour}, {"2w", 14 * day}, {"1.5d", 36 * time.Hour},
		{"1w2d3h4m", 9*day + 3*time.Hour + 4*time.Minute}, {"-2d", -2 * day}, {"+1d", day}, {"10d500ms", 10*day + 500*time.Millisecond},
	} {
		got, err := ParseDuration(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "d", "w", "7", "7x", "1dd", "1d-2h", "-", "abc", "1e3d", "NaNd", ".d", "1d 2h", "200000w", "106752d", "106751d24h"} {
		if d, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", bad, d)
		}
	}
}
