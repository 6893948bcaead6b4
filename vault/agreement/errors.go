package agreement

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is the error Parse and CheckParticipants return for an agreement
// they refuse. It names the field (a dotted path such as
// "confidentiality.readers.session") and, when known, the line of the file.
type Error struct {
	Line  int    // 1-based line in the agreement file; 0 when not known
	Field string // dotted field path; empty when the error is about the whole file
	Msg   string // what is wrong, lowercase, no trailing period
}

// Error formats e as one sentence:
//
//	agreement line 7: field "confidentiality.readers.session": unknown reader "bob" (use mentor, mentee or author)
//	agreement: missing required field "mentor"
//
// The `field "…": ` part is left out when Msg already names the field.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "agreement line %d: ", e.Line)
	} else {
		b.WriteString("agreement: ")
	}
	if e.Field != "" && !strings.Contains(e.Msg, strconv.Quote(e.Field)) {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxQuoted is how much of a value from the file an error message quotes.
const maxQuoted = 64

// clip shortens s for quoting in an error message.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
