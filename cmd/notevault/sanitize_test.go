package main

import (
	"testing"
	"unicode/utf8"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		in, line, text string
	}{
		{"Alice mentors Bob", "Alice mentors Bob", "Alice mentors Bob"},
		{"Zoë & Jürgen — 日本", "Zoë & Jürgen — 日本", "Zoë & Jürgen — 日本"},
		{"red\x1b[31m alert\x1b[0m", `red\x1b[31m alert\x1b[0m`, `red\x1b[31m alert\x1b[0m`},
		{"title\x1b]0;pwned\x07", `title\x1b]0;pwned\x07`, `title\x1b]0;pwned\x07`},
		{"two\nlines\tand tab", `two\x0alines\x09and tab`, "two\nlines\tand tab"},
		{"over\rwrite", `over\x0dwrite`, `over\x0dwrite`},
		{"c1 \u009b31m csi", `c1 \u009b31m csi`, `c1 \u009b31m csi`},
		{"bidi \u202eevil\u202c", `bidi \u202eevil\u202c`, `bidi \u202eevil\u202c`},
		{"del\x7f", `del\x7f`, `del\x7f`},
		{"bad \x9b byte \xff", `bad \x9b byte \xff`, `bad \x9b byte \xff`},
		{"", "", ""},
	} {
		if got := safeLine(tc.in); got != tc.line {
			t.Errorf("safeLine(%q) = %q, want %q", tc.in, got, tc.line)
		}
		if got := safeText(tc.in); got != tc.text {
			t.Errorf("safeText(%q) = %q, want %q", tc.in, got, tc.text)
		}
	}
}

// Whatever goes in, what comes out is valid UTF-8 with no control character
// but, for text, line feeds and tabs, and no rune a terminal acts on.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[2J\x1b[H", "a\r\nb\tc", "\u009b\u202e\xff\xc2", "日本\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, multiline := range []bool{false, true} {
			out := sanitize(s, multiline)
			if !utf8.ValidString(out) {
				t.Fatalf("sanitize(%q, %v) = %q: not UTF-8", s, multiline, out)
			}
			for _, r := range out {
				if multiline && (r == '\n' || r == '\t') {
					continue
				}
				if r < 0x20 || r == 0x7f || unsafeRune(r) {
					t.Fatalf("sanitize(%q, %v) = %q: holds %U", s, multiline, out, r)
				}
			}
		}
	})
}
