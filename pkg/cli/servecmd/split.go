package servecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/housectl/housectl/pkg/cli/cmdutil"
	"github.com/housectl/housectl/pkg/ui"
)

// newCmdSplit returns `housectl serve split`: new weights for a running
// server's traffic split, through its admin endpoint.
func newCmdSplit(f *cmdutil.Factory) *cobra.Command {
	var url, model string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "split ALIAS=WEIGHT... [--url <url>] [--model <name>]",
		Short: "Change the traffic split of a running server, without a restart",
		Long: `Send new weights to a running housectl serve (PUT /admin/split): every alias
of the split gets a share, the others' relative weights follow. The request
carries an API key when the server needs one: HOUSECTL_API_KEY, else the first
of the server's own keys (serve.api_keys_env, serve.api_keys_file). A unit
keeps its variant unless the new weights must move it.

The split itself is configured with serve.split; editing it and sending the
server SIGHUP does the same as this command.`,
		Example: `  housectl serve split production=80 challenger=20
  housectl serve split production=0 challenger=1 --url http://10.0.0.5:8080`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			weights := map[string]float64{}
			for _, a := range args {
				k, v, ok := strings.Cut(a, "=")
				w, err := strconv.ParseFloat(v, 64)
				if !ok || k == "" || err != nil {
					return cmdutil.FlagErrorf("%q: give ALIAS=WEIGHT, e.g. production=90", a)
				}
				weights[k] = w
			}
			l, err := f.Config(cmd)
			if err != nil {
				return err
			}
			if url == "" {
				addr := l.Config.Serve.Addr
				if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") {
					addr = "127.0.0.1" + addr[strings.LastIndexByte(addr, ':'):]
				}
				url = "http://" + addr
			}
			key, _ := f.LookupEnv("HOUSECTL_API_KEY")
			if key == "" {
				if keys, err := cmdutil.APIKeys(l.Config.Serve, f.LookupEnv); err == nil && len(keys) > 0 {
					key = keys[0]
				}
			}
			return sendSplit(cmd.Context(), f.IOStreams, f.HTTPClient(), strings.TrimRight(url, "/")+"/admin/split", key, model, weights, timeout)
		},
	}
	cmd.Flags().StringVar(&url, "url", "", "the server (default: http://<serve.addr>)")
	cmd.Flags().StringVar(&model, "model", "", "the served model whose split changes (default: the default model)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	return cmd
}

func sendSplit(ctx context.Context, ios *ui.IOStreams, client *http.Client, url, key, model string, weights map[string]float64, timeout time.Duration) error {
	body, _ := json.Marshal(map[string]any{"model": model, "weights": weights})
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return cmdutil.FlagErrorf("--url: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", cmdutil.UserAgent())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("no server answered at %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Detail any `json:"detail"`
		Models []struct {
			Name     string `json:"name"`
			Variants []struct {
				Variant string  `json:"variant"`
				Version string  `json:"version"`
				Weight  float64 `json:"weight"`
			} `json:"variants"`
		} `json:"models"`
	}
	_ = json.Unmarshal(b, &out)
	if resp.StatusCode != http.StatusOK {
		detail := strings.TrimSpace(string(b))
		if s, ok := out.Detail.(string); ok {
			detail = s
		}
		if resp.StatusCode == http.StatusUnauthorized {
			detail += " (set HOUSECTL_API_KEY to one of the server's keys)"
		}
		return fmt.Errorf("the server refused the split (%s): %s", resp.Status, detail)
	}
	t := &ui.Table{Headers: []string{"MODEL", "VARIANT", "VERSION", "SHARE"}}
	for _, m := range out.Models {
		if len(m.Variants) < 2 {
			continue
		}
		for _, v := range m.Variants {
			t.Append(m.Name, v.Variant, v.Version, strconv.FormatFloat(100*v.Weight, 'f', 1, 64)+"%")
		}
	}
	return t.Render(ios)
}
