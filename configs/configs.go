// Package configs embeds the shipped configuration files so that the binary
// can scaffold a project (`housectl init`) with exactly the documented
// defaults.
package configs

import _ "embed"

// Default is configs/housectl.yaml: every key with its default and a comment.
//
//go:embed housectl.yaml
var Default []byte
