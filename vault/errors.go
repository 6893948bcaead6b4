package vault

import (
	"errors"
	"fmt"

	"github.com/notevault/notevault/policy"
)

var (
	// ErrNotFound: the record asked for does not exist (or no longer does).
	ErrNotFound = errors.New("not found")
	// ErrExists: the record or vault to create is already there.
	ErrExists = errors.New("already exists")
	// ErrBusy: another process holds the vault open.
	ErrBusy = errors.New("vault is busy: another notevault command is using it; try again in a moment")
	// ErrNotInitialized: the directory holds no vault.
	ErrNotInitialized = errors.New("no vault here (run notevault init first)")
	// ErrNotParticipant: the identity given matches no registered participant.
	ErrNotParticipant = errors.New("this identity is not a participant of the vault")
	// ErrLargeNote: a note stored as a payload file (larger than inlineMax)
	// was asked for whole in memory; it is read as a stream instead
	// (OpenNote, ExportNoteTo).
	ErrLargeNote = errors.New("the note is larger than 1 MiB and is read only as a stream, never whole in memory")
	// ErrNoKey: the identity cannot decrypt the record.
	ErrNoKey = errors.New("no key to decrypt")
	// ErrOldFormat: the vault was written by the first release (format 1),
	// whose participant keys carry no proof of possession and whose notes,
	// endings and agreement versions are not signed as this release
	// requires. Its access decisions cannot be trusted, so it is not opened.
	ErrOldFormat = errors.New("this vault was written by notevault's first release (format 1), whose records are not signed as this release requires: keep using that release for it, or create a new vault (notevault init) and register the participants and agreements again")
	// ErrInvalid: the input is refused (bad agreement file, bad name, ...).
	ErrInvalid = errors.New("invalid input")
	// ErrRollback: the vault's audit history is not a continuation of one
	// already seen (cut, rolled back, or signed by another key). Every
	// *RollbackError matches it.
	ErrRollback = errors.New("the vault's audit log was cut or rolled back")
)

// RollbackError reports a vault that no longer extends what was trusted of
// it: the audit log cut back or forked, the checkpoint or the key that signs
// it replaced or older than the one the user pinned outside the vault, or
// the log no longer extending the vault's own signed checkpoint. The vault
// refuses to act on it.
type RollbackError struct {
	What string // "the audit log", "the audit checkpoint", "the vault"
	Msg  string // how it shows, lowercase
	Dir  string // the vault
	// PinFile is the user's pin that holds what the vault no longer matches
	// ("" when the vault's own checkpoint is what the log no longer extends:
	// removing the pin would not help then).
	PinFile string
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("%s was rolled back: %s; someone restored an older copy of the vault or edited it", e.What, e.Msg)
}

func (e *RollbackError) Is(target error) bool { return target == ErrRollback }

// DeniedError carries the policy decision that refused an action.
type DeniedError struct{ Decision policy.Decision }

func (e *DeniedError) Error() string { return e.Decision.String() }

func denied(d policy.Decision) error { return &DeniedError{Decision: d} }

func notFound(what, id string) error { return fmt.Errorf("%s %s: %w", what, id, ErrNotFound) }

// inputError is a refusal of bad input: its message is the whole sentence,
// and it matches ErrInvalid.
type inputError struct{ msg string }

func (e *inputError) Error() string        { return e.msg }
func (e *inputError) Is(target error) bool { return target == ErrInvalid }

func invalid(format string, args ...any) error {
	return &inputError{msg: fmt.Sprintf(format, args...)}
}
