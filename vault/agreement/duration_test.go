package agreement

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	valid := []struct {
		in   string
		want time.Duration
	}{
		{"90d", 90 * day},
		{"365d", 365 * day},
		{"2w", 14 * day},
		{"36h", 36 * time.Hour},
		{"5s", 5 * time.Second},
		{"1w2d", 9 * day},
		{"1d12h", 36 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5d", 36 * time.Hour},
		{".5w", 84 * time.Hour},
		{"1.d", day},
		{"500ms", 500 * time.Millisecond},
		{"10us", 10 * time.Microsecond},
		{"10µs", 10 * time.Microsecond},
		{"1ns", 1},
		{"1d1d", 2 * day},
		{" 90d\n", 90 * day},
		{"+2w", 14 * day},
		{"106751d", 106751 * day},
		{"9223372036854775807ns", math.MaxInt64},
	}
	for _, tt := range valid {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}

	invalid := []struct {
		in, want string
	}{
		{"soon", `"soon" is not a duration (use e.g. 90d, 2w, 36h, 5s)`},
		{"", `"" is not a duration (use e.g. 90d, 2w, 36h, 5s)`},
		{"90", `"90" is not a duration`},
		{"d", `"d" is not a duration`},
		{".d", `".d" is not a duration`},
		{"1y", `"1y" is not a duration`},
		{"1D", `"1D" is not a duration`},
		{"1 d", `"1 d" is not a duration`},
		{"1d 2h", `"1d 2h" is not a duration`},
		{"-", `"-" is not a duration`},
		{"1d-2h", `"1d-2h" is not a duration`},
		{"0", `duration "0" must be longer than zero`},
		{"0d", `duration "0d" must be longer than zero`},
		{"0.0000000001s", `must be longer than zero`},
		{"-5d", `duration "-5d" must be longer than zero`},
		{"106752d", `"106752d" is too long for a duration`},
		{"9223372036854775808ns", "too long"},
		{"99999999999999999999999w", "too long"},
		{"1w" + strings.Repeat("1w", 20000), "too long"},
	}
	for _, tt := range invalid {
		got, err := ParseDuration(tt.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", tt.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseDuration(%q) error %q, want %q", tt.in, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{365 * day, "365d"},
		{90 * day, "90d"},
		{180 * day, "180d"},
		{14 * day, "2w"},
		{364 * day, "52w"},
		{day, "1d"},
		{48 * time.Hour, "2d"},
		{36 * time.Hour, "36h"},
		{90 * time.Minute, "90m"},
		{5 * time.Second, "5s"},
		{1500 * time.Millisecond, "1500ms"},
		{time.Microsecond, "1µs"},
		{time.Nanosecond, "1ns"},
		{0, "0s"},
		{-2 * day, "-2d"},
		{math.MaxInt64, "9223372036854775807ns"},
		{math.MinInt64, "-9223372036854775808ns"},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.in); got != tt.want {
			t.Errorf("FormatDuration(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDurationRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{1, 999, time.Millisecond, time.Second, 61 * time.Second, time.Hour, day + time.Second, 3 * week, 1000 * week, math.MaxInt64} {
		s := FormatDuration(d)
		back, err := ParseDuration(s)
		if err != nil || back != d {
			t.Errorf("ParseDuration(FormatDuration(%d) = %q) = %d, %v", d, s, back, err)
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "2w", "1w2d", "1.5d", "36h", "5s", "0", "-1d", "soon", "9223372036854775807ns"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d <= 0 {
			t.Fatalf("ParseDuration(%q) = %d, not positive", s, d)
		}
		back, err := ParseDuration(FormatDuration(d))
		if err != nil || back != d {
			t.Fatalf("round trip of %q (%d) through %q gave %d, %v", s, d, FormatDuration(d), back, err)
		}
	})
}
