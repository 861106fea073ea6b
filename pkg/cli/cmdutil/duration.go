package cmdutil

import (
	"errors"
	"time"

	"github.com/spf13/pflag"

	"github.com/housectl/housectl/pkg/config"
)

// DurationVar defines a time.Duration flag that also takes days and weeks
// (7d, 1d12h, 2w), as the configuration's duration keys do.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

type durationValue time.Duration

func (d *durationValue) Set(s string) error {
	v, err := config.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 30m, 24h or 7d")
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) Type() string   { return "duration" }
func (d *durationValue) String() string { return time.Duration(*d).String() }
