// Package jsonstr writes JSON strings byte for byte as encoding/json does, without
// reflection or an encoder: for the hot paths that write JSON by hand (tool results, the
// MCP fast path, ChatKit text deltas) and must stay interchangeable with encoding/json's
// output, which golden files and clients compare. Unquoted is the reading side's shortcut.
package jsonstr

import (
	"bytes"
	"unicode/utf8"
)

// Unquoted returns the contents of quoted, a valid JSON string with its quotes, when they
// are what encoding/json would decode it to: no escapes and valid UTF-8 (encoding/json
// replaces invalid bytes). Otherwise ok is false, and the string needs decoding.
func Unquoted(quoted []byte) (s []byte, ok bool) {
	s = quoted[1 : len(quoted)-1]
	return s, bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// Escaping says which ASCII characters are written as they are: all but control
// characters, the quote and the backslash — and, for HTML, not <, > and & either, which
// encoding/json escapes by default so that JSON can be put into a page.
type Escaping [utf8.RuneSelf]bool

var (
	// HTML is encoding/json's default (json.Marshal).
	HTML = escaping(true)
	// Plain is an encoder with SetEscapeHTML(false).
	Plain = escaping(false)
)

func escaping(html bool) *Escaping {
	var e Escaping
	for c := byte(' '); c < utf8.RuneSelf; c++ {
		e[c] = c != '"' && c != '\\' && !(html && (c == '<' || c == '>' || c == '&'))
	}
	return &e
}

const hexDigits = "0123456789abcdef"

// Append appends s as a JSON string, escaped as e says; invalid UTF-8 becomes U+FFFD and
// U+2028 and U+2029 are escaped (valid JSON, but not valid JavaScript), as encoding/json does.
func Append(b []byte, s string, e *Escaping) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if e[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default: // other control characters, and <, > and & for HTML
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
