package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"

	"github.com/notevault/notevault/vault"
	"github.com/notevault/notevault/vault/identity"
	"github.com/notevault/notevault/vault/remote"
)

// Exit codes, as documented by `notevault help exit-codes`.
const (
	exitOK       = 0
	exitFailure  = 1
	exitUsage    = 2
	exitDenied   = 3
	exitNotFound = 4
)

const exitCodesHelp = `Exit codes of notevault:

  0  ok
  1  failure: anything not listed below (bad input, a vault that is missing
     or busy, an identity file that cannot be read, a failed audit verify or
     check, a store changed outside notevault, a vault whose audit log or
     agreement chains no longer extend what you last saw)
  2  usage: an unknown command or flag, a missing or extra argument, a flag
     value that is not one of the allowed ones
  3  denied: the policy refused the action (or could not decide), the identity
     is not a participant of the vault, or it holds no key for the record
  4  not found: the note, agreement or participant asked for does not exist
  5  overdue: agreement due found a review that is overdue (and listed it)

Errors are printed on stderr as "notevault: error: ..." and sometimes
followed by "notevault: hint: ...".`

// usageError is a command-line usage mistake: exit code 2. Its hint points
// at the help of the command that was mistyped, or names the commands the
// user may have meant.
type usageError struct {
	msg string
	// help is the command whose --help the hint names ("notevault note
	// add"); execute fills it in with the command cobra found when empty.
	help string
	// suggest are whole command paths the user may have meant.
	suggest []string
}

func (e *usageError) Error() string { return e.msg }

// hint is the line that follows a usage error.
func (e *usageError) hint() string {
	if n := len(e.suggest); n > 0 {
		if n == 1 {
			return "did you mean " + e.suggest[0] + "?"
		}
		return "did you mean " + strings.Join(e.suggest[:n-1], ", ") + " or " + e.suggest[n-1] + "?"
	}
	help := e.help
	if help == "" {
		help = "notevault"
	}
	return "see " + help + " --help"
}

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// exitError ends the command with code without printing anything more:
// the command already said what it had to (policy explain).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hintError adds a hint line to an error.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

func withHint(err error, format string, args ...any) error {
	return &hintError{err: err, hint: fmt.Sprintf(format, args...)}
}

// exitCode maps an error to notevault's documented exit codes.
func exitCode(err error) int {
	var (
		ue *usageError
		xe *exitError
		de *vault.DeniedError
		se *remote.ServerError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &se) && (se.Status == http.StatusUnauthorized || se.Status == http.StatusForbidden):
		return exitDenied
	case errors.As(err, &xe):
		return xe.code
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &de), errors.Is(err, vault.ErrNotParticipant), errors.Is(err, vault.ErrNoKey):
		return exitDenied
	case errors.Is(err, vault.ErrNotFound):
		return exitNotFound
	case errors.Is(err, vault.ErrRollback):
		return exitFailure
	default:
		return exitFailure
	}
}

// reportError prints err in the house style and returns its exit code.
func reportError(w io.Writer, err error) int {
	code := exitCode(err)
	var xe *exitError
	if err == nil || errors.As(err, &xe) {
		return code
	}
	fmt.Fprintf(w, "notevault: error: %s\n", message(err))
	var (
		he *hintError
		ie *vault.InsecureError
		re *vault.RollbackError
		se *remote.ServerError
	)
	switch {
	case errors.As(err, &he):
		fmt.Fprintf(w, "notevault: hint: %s\n", he.hint)
	case errors.As(err, &se) && se.Status == http.StatusUnauthorized:
		fmt.Fprintf(w, "notevault: hint: ask the server's operator to enrol your public key (notevault enrol --key PUBLIC, run with the admin identity)\n")
	case errors.As(err, &ie):
		fmt.Fprintf(w, "notevault: hint: chmod 700 %s\n", ie.Path)
	case errors.As(err, &re) && re.PinFile != "":
		fmt.Fprintf(w, "notevault: hint: if you restored this vault from a backup on purpose, remove %s to trust it as it is now\n", re.PinFile)
	case errors.As(err, &re):
		fmt.Fprintf(w, "notevault: hint: the vault's files were changed outside notevault; restore it from a backup you trust\n")
	case errors.Is(err, vault.ErrNotInitialized):
		fmt.Fprintf(w, "notevault: hint: run notevault init (or give --vault DIR)\n")
	case errors.Is(err, vault.ErrNotParticipant):
		fmt.Fprintf(w, "notevault: hint: register the public key with notevault participant add, or give the right -i FILE\n")
	case errors.As(err, new(*vault.IntegrityError)):
		fmt.Fprintf(w, "notevault: hint: nothing was shown or written; notevault check names every problem it finds first, and a backup you trust restores the vault\n")
	case errors.As(err, new(*vault.RollbackError)):
		fmt.Fprintf(w, "notevault: hint: nothing was shown or written; compare with a checkpoint kept elsewhere (notevault audit verify --checkpoint FILE) and restore the newest copy you trust\n")
	case errors.Is(err, identity.ErrWrongPassphrase):
		fmt.Fprintf(w, "notevault: hint: check the passphrase file\n")
	case code == exitUsage:
		hint := "see notevault --help"
		var ue *usageError
		if errors.As(err, &ue) {
			hint = ue.hint()
		}
		fmt.Fprintf(w, "notevault: hint: %s\n", hint)
	}
	return code
}

// message is err's text in the house style: lowercase start, no trailing period.
func message(err error) string {
	s := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrExist) {
		s = fmt.Sprintf("%s already exists; refusing to overwrite it", pe.Path)
	}
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".")
	return s
}
