package main

import (
	"errors"
	"testing"
	"time"
)

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Time{}},
		{"2026-03-01", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-03-01T09:30:00+01:00", time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)},
		{"7d", time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC)},
		{"36h", time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)},
	} {
		got, err := parseSince(c.in, now)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"yesterday", "2026-3-1", "-7d", "0", "2026-02-30"} {
		_, err := parseSince(in, now)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseSince(%q): %v, want a usage error", in, err)
		}
	}
}

func TestListingTextIsTerminalSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Zanzibar plan":            "Zanzibar plan",
		"café, 日本語":                "café, 日本語",
		"\x1b[2J\x1b[31mred":       `\x1b[2J\x1b[31mred`,
		"tab\there":                `tab\x09here`,
		"bell\a and nul\x00":       `bell\x07 and nul\x00`,
		"right-to-left \u202eevil": `right-to-left \u202eevil`,
		"isolate \u2067x\u2069":    `isolate \u2067x\u2069`,
		"c1 control \u009b31m":     `c1 control \u009b31m`,
		"invalid \xff utf-8":       "invalid \\xff utf-8", // a byte an 8-bit terminal could take for CSI
	} {
		if got := safeLine(in); got != want {
			t.Errorf("safeLine(%q) = %q, want %q", in, got, want)
		}
	}
}
