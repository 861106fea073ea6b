package cmdutil

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/housectl/housectl/pkg/config"
)

// APIKeys reads serve's API keys (serve.api_keys_env, serve.api_keys_file),
// which housectl serve and housectl ui both require.
func APIKeys(c config.Serve, lookup func(string) (string, bool)) ([]string, error) {
	var keys []string
	if c.APIKeysEnv != "" {
		if v, ok := lookup(c.APIKeysEnv); ok {
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					keys = append(keys, k)
				}
			}
		}
	}
	if c.APIKeysFile != "" {
		f, err := os.Open(c.APIKeysFile)
		if err != nil {
			return nil, fmt.Errorf("serve.api_keys_file: %w", err)
		}
		defer f.Close()
		n := len(keys)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k := strings.TrimSpace(sc.Text()); k != "" && !strings.HasPrefix(k, "#") {
				keys = append(keys, k)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("serve.api_keys_file: %w", err)
		}
		// A key file that was named but holds no key would otherwise
		// leave the server open to anyone.
		if len(keys) == n {
			return nil, fmt.Errorf("serve.api_keys_file: %s holds no API key: put one key per line (# starts a comment), or set serve.api_keys_file to \"\" to serve without authentication", c.APIKeysFile)
		}
	}
	return keys, nil
}
