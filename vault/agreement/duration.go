package agreement

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	day  = 24 * time.Hour
	week = 7 * day
)

// durationUnits are the units ParseDuration accepts: Go's plus d and w.
var durationUnits = map[string]uint64{
	"ns": uint64(time.Nanosecond),
	"us": uint64(time.Microsecond),
	"µs": uint64(time.Microsecond), // U+00B5 micro sign
	"μs": uint64(time.Microsecond), // U+03BC Greek mu
	"ms": uint64(time.Millisecond),
	"s":  uint64(time.Second),
	"m":  uint64(time.Minute),
	"h":  uint64(time.Hour),
	"d":  uint64(day),
	"w":  uint64(week),
}

// formatUnits are tried largest first by FormatDuration.
var formatUnits = []struct {
	name string
	d    uint64
}{
	{"w", uint64(week)},
	{"d", uint64(day)},
	{"h", uint64(time.Hour)},
	{"m", uint64(time.Minute)},
	{"s", uint64(time.Second)},
	{"ms", uint64(time.Millisecond)},
	{"µs", uint64(time.Microsecond)},
	{"ns", 1},
}

// ParseDuration parses a positive duration: a Go duration (see
// time.ParseDuration) whose units may also be d (24 hours) and w (7 days),
// such as "90d", "2w", "36h", "5s", "1w2d", "1d12h" or "1.5d". A day is
// always 24 hours; there are no months or years, whose length varies.
// Surrounding spaces are ignored. Zero, negative and out-of-range durations
// are refused.
func ParseDuration(s string) (time.Duration, error) {
	notDuration := fmt.Errorf("%q is not a duration (use e.g. 90d, 2w, 36h, 5s)", clip(s))
	rest := strings.TrimSpace(s)
	neg := false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}
	if rest == "" {
		return 0, notDuration
	}
	var total uint64
	if rest != "0" { // a bare 0 needs no unit, as in Go
		for rest != "" {
			var intPart, fracPart, unit string
			intPart, rest = leadingDigits(rest)
			if rest != "" && rest[0] == '.' {
				fracPart, rest = leadingDigits(rest[1:])
			}
			if intPart == "" && fracPart == "" {
				return 0, notDuration
			}
			i := 0
			for i < len(rest) && rest[i] != '.' && !isDigit(rest[i]) {
				i++
			}
			unit, rest = rest[:i], rest[i:]
			scale, ok := durationUnits[unit]
			if !ok {
				return 0, notDuration
			}
			v, ok := componentValue(intPart, fracPart, scale)
			if !ok || v > math.MaxInt64-total {
				return 0, fmt.Errorf("%q is too long for a duration (at most about 292 years)", clip(s))
			}
			total += v
		}
	}
	if neg || total == 0 {
		return 0, fmt.Errorf("duration %q must be longer than zero", clip(s))
	}
	return time.Duration(total), nil
}

// componentValue returns (intPart.fracPart)*scale, truncated to whole
// nanoseconds, and false if it overflows int64.
func componentValue(intPart, fracPart string, scale uint64) (uint64, bool) {
	var v uint64
	for i := 0; i < len(intPart); i++ {
		d := uint64(intPart[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	if v > math.MaxInt64/scale {
		return 0, false
	}
	v *= scale
	// The fraction: keep digits while they fit, as time.ParseDuration does.
	var f, fscale uint64 = 0, 1
	for i := 0; i < len(fracPart); i++ {
		if f > (math.MaxInt64-9)/10 {
			break
		}
		f = f*10 + uint64(fracPart[i]-'0')
		fscale *= 10
	}
	if f > 0 {
		v += uint64(float64(f) * (float64(scale) / float64(fscale)))
		if v > math.MaxInt64 {
			return 0, false
		}
	}
	return v, true
}

func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// FormatDuration formats d in the largest single unit that divides it
// exactly: 365d, 2w, 36h, 90m, 5s, 1500ms. ParseDuration reads the result
// back to the same duration for every d > 0.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	sign := ""
	u := uint64(d)
	if d < 0 {
		sign = "-"
		u = uint64(-(d + 1)) + 1 // safe for math.MinInt64
	}
	for _, f := range formatUnits {
		if u%f.d == 0 {
			return sign + strconv.FormatUint(u/f.d, 10) + f.name
		}
	}
	panic("unreachable") // the last unit is 1ns
}
