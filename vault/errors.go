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
	// ErrNoKey: the identity cannot decrypt the record.
	ErrNoKey = errors.New("no key to decrypt")
	// ErrInvalid: the input is refused (bad agreement file, bad name, ...).
	ErrInvalid = errors.New("invalid input")
	// ErrRollback: the vault's audit history is not a continuation of one
	// already seen (cut, rolled back, or signed by another key). Every
	// *RollbackError matches it.
	ErrRollback = errors.New("the vault's audit log was cut or rolled back")
)

// RollbackError says why the vault's audit log no longer extends a
// checkpoint that was trusted before: the one the user pinned outside the
// vault, or the vault's own signed checkpoint. The vault refuses to act on
// such a log.
type RollbackError struct {
	Dir string // the vault
	// PinFile is the user's pin that holds the newer checkpoint ("" when the
	// vault's own checkpoint is what the log no longer extends).
	PinFile string
	Reason  string // one sentence, lowercase
}

func (e *RollbackError) Error() string        { return e.Reason }
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
