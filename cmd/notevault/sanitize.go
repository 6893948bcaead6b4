package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Names, titles, reasons and agreement texts are typed by people and stored
// as they were typed. Printed raw, an escape sequence in one could recolour
// the terminal, move the cursor to overwrite the lines above (a forged
// "allowed" or a different key fingerprint), set the window title or, on some
// terminals, write to the clipboard. What list and show commands print for
// people goes through safeLine or safeText first; --json output is escaped
// by the encoder and needs neither.

// safeLine makes s safe to print on one line of a table or a "key: value"
// line: every control character (tabs and line breaks too, which would break
// the table), every bidirectional override, and every byte that is not UTF-8
// is shown as an escape (\x1b, \u202e) instead of being sent to the terminal.
func safeLine(s string) string { return sanitize(s, false) }

// safeText is safeLine for text of several lines: line feeds and tabs stay,
// everything else safeLine escapes is escaped (a carriage return too, which
// would let a line overwrite itself).
func safeText(s string) string { return sanitize(s, true) }

func sanitize(s string, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// unsafeRune reports the non-ASCII runes a terminal acts on or that reorder
// what it shows: the C1 controls (U+009B is CSI, like ESC [), the line and
// paragraph separators, and the bidirectional embeddings, overrides and
// isolates.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028 || r == 0x2029:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e || r == 0x200f || r == 0x061c:
		return true
	}
	return false
}
