package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvReader splits comma-separated records, RFC 4180 style: fields may be
// quoted, a quote inside a quoted field is doubled, quoted fields may span
// lines. Lines may end in LF or CRLF; a UTF-8 byte-order mark before the
// first record is dropped. Blank lines are skipped.
//
// Unlike encoding/csv it returns fields as slices of its own buffer, valid
// until the next call, so that reading a numeric file allocates almost
// nothing per record.
type csvReader struct {
	br     *bufio.Reader
	line   int // line number of the last line read
	start  int // line number where the last record started
	fields [][]byte
	buf    []byte // unquoted field bytes of the current record
	ends   []int
	first  bool
	// consumed counts the bytes of all lines read so far.
	consumed int64
	records  int64
}

// bytesPerRecord is the mean size of the records read so far, or 0.
func (c *csvReader) bytesPerRecord() float64 {
	if c.records == 0 {
		return 0
	}
	return float64(c.consumed) / float64(c.records)
}

// bom is the UTF-8 byte-order mark that spreadsheet programs write at the
// start of a CSV file.
const bom = "\xef\xbb\xbf"

// SkipBOM returns r without a leading UTF-8 byte-order mark, which would
// otherwise become part of the first column's name, as every CSV reader
// of housectl drops it (pandas does the same).
func SkipBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(bom)); err == nil && string(b) == bom {
		_, _ = br.Discard(len(bom))
	}
	return br
}

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, 256<<10), first: true}
}

// errQuote is a malformed quoted field.
type errQuote struct{ msg string }

func (e errQuote) Error() string { return e.msg }

// readLine returns the next line without its line ending. The slice is
// valid until the next read.
func (c *csvReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		// A very long line: gather it into buf's tail.
		long := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = c.br.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if len(line) > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	c.line++
	c.consumed += int64(len(line))
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	line = line[:n]
	if c.first {
		c.first = false
		line = bytes.TrimPrefix(line, []byte(bom))
	}
	return line, nil
}

// Read returns the next record's fields. At the end it returns io.EOF. A
// malformed quote is an errQuote; the reader then continues at the next line.
func (c *csvReader) Read() ([][]byte, error) {
	var line []byte
	var err error
	for {
		line, err = c.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) > 0 {
			break
		}
	}
	c.start = c.line
	c.records++
	c.fields = c.fields[:0]
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				c.fields = append(c.fields, line)
				return c.fields, nil
			}
			c.fields = append(c.fields, line[:i])
			line = line[i+1:]
		}
	}
	return c.readQuoted(line)
}

// readQuoted parses a record that contains a quote, copying field bytes
// into c.buf.
func (c *csvReader) readQuoted(line []byte) ([][]byte, error) {
	c.buf = c.buf[:0]
	c.ends = c.ends[:0]
	for {
		if len(line) > 0 && line[0] == '"' {
			line = line[1:]
			for {
				i := bytes.IndexByte(line, '"')
				switch {
				case i >= 0 && i+1 < len(line) && line[i+1] == '"':
					c.buf = append(c.buf, line[:i+1]...)
					line = line[i+2:]
					continue
				case i >= 0:
					c.buf = append(c.buf, line[:i]...)
					line = line[i+1:]
				default:
					// The quoted field goes on past the end of the line.
					c.buf = append(c.buf, line...)
					c.buf = append(c.buf, '\n')
					next, err := c.readLine()
					if err != nil {
						if errors.Is(err, io.EOF) {
							return nil, errQuote{fmt.Sprintf("quoted field opened on line %d is never closed", c.start)}
						}
						return nil, err
					}
					line = next
					continue
				}
				break
			}
			if len(line) > 0 && line[0] != ',' {
				return nil, errQuote{fmt.Sprintf("unexpected %q after a closing quote; double a quote inside a quoted field", line[0])}
			}
		} else {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				i = len(line)
			}
			if bytes.IndexByte(line[:i], '"') >= 0 {
				return nil, errQuote{"a quote inside an unquoted field; quote the whole field and double the quote"}
			}
			c.buf = append(c.buf, line[:i]...)
			line = line[i:]
		}
		c.ends = append(c.ends, len(c.buf))
		if len(line) == 0 {
			break
		}
		line = line[1:] // the comma
		if len(line) == 0 {
			c.ends = append(c.ends, len(c.buf))
			break
		}
	}
	prev := 0
	for _, e := range c.ends {
		c.fields = append(c.fields, c.buf[prev:e])
		prev = e
	}
	return c.fields, nil
}
