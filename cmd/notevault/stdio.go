package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// "-" as a file name means stdin for a flag that reads (--file, --key-file)
// and stdout for one that writes (--out), as it does for age, tar and most
// tools people know. A file really named "-" is still reachable as ./-.
const stdioName = "-"

// displayName is how a file given on the command line is named in messages.
func displayName(path string) string {
	if path == stdioName {
		return "stdin"
	}
	return path
}

// readInput reads the file at path, or stdin when path is "-". what names
// the contents for the error ("the agreement file").
func readInput(path, what string, e *env) ([]byte, error) {
	if path == stdioName {
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return nil, fmt.Errorf("reading %s from stdin: %w", what, err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	return b, nil
}

// isTerminal reports whether f is a terminal (an *os.File that is one).
func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}
