package main

import (
	"testing"
	"time"
)

func TestParseUntil(t *testing.T) {
	now := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{in: "", want: time.Time{}},
		// A date is the start of that day, UTC.
		{in: "2027-03-01", want: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2027-01-03", want: time.Date(2027, 1, 3, 0, 0, 0, 0, time.UTC)},
		{in: "2027-01-02", err: "--until 2027-01-02 is not in the future: a date means its start, 00:00 UTC"},
		{in: "2026-12-31", err: "--until 2026-12-31 is not in the future: a date means its start, 00:00 UTC"},
		{in: "2027-02-30", err: `--until "2027-02-30": give a date (2027-03-01), an RFC 3339 time or a duration such as 30d`},
		{in: "2027-3-1", err: `--until "2027-3-1": give a date (2027-03-01), an RFC 3339 time or a duration such as 30d`},
		{in: "01/03/2027", err: `--until "01/03/2027": give a date (2027-03-01), an RFC 3339 time or a duration such as 30d`},
		{in: "2027-03-01T17:00:00+01:00", want: time.Date(2027, 3, 1, 16, 0, 0, 0, time.UTC)},
		{in: "2027-01-02T03:04:05Z", err: "--until 2027-01-02T03:04:05Z is not in the future"},
		{in: "30d", want: now.Add(30 * 24 * time.Hour)},
		{in: "36h", want: now.Add(36 * time.Hour)},
		{in: "soon", err: `--until "soon": give a date (2027-03-01), an RFC 3339 time or a duration such as 30d`},
	} {
		got, err := parseUntil(tc.in, now)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err || exitCode(err) != exitUsage {
				t.Errorf("parseUntil(%q) = %v, %v; want usage error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseUntil(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
