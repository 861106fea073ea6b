package serve

import (
	"strconv"
	"sync"
)

// bufPool holds response buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendJSONString appends s as a JSON string. It is only given names,
// versions and request ids, which are printable ASCII: Go's quoting of
// those (\" and \\) is JSON's.
func appendJSONString(b []byte, s string) []byte {
	return strconv.AppendQuote(b, s)
}
