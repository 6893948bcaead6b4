package audit

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// checkpointHeader is the first line of a checkpoint's note text.
const checkpointHeader = "notevault audit checkpoint v1"

// NewCheckpointKey generates a sumdb/note Ed25519 key pair named name for
// signing checkpoints. Keep signerKey secret; verifierKey is public.
func NewCheckpointKey(name string) (signerKey, verifierKey string, err error) {
	signerKey, verifierKey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("audit: checkpoint key: %w", err)
	}
	return signerKey, verifierKey, nil
}

// SignCheckpoint returns a sumdb/note signed note whose text is
//
//	notevault audit checkpoint v1
//	<size, decimal>
//	<head, standard base64>
//
// signed with signerKey.
func SignCheckpoint(signerKey string, size uint64, head [32]byte) ([]byte, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint signer: %w", err)
	}
	text := fmt.Sprintf("%s\n%d\n%s\n", checkpointHeader, size, base64.StdEncoding.EncodeToString(head[:]))
	msg, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		return nil, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies msg against verifierKey and returns the size and
// head it commits to. It refuses notes not signed by verifierKey, edited
// notes, and text that is not exactly in SignCheckpoint's form.
func OpenCheckpoint(msg []byte, verifierKey string) (size uint64, head [32]byte, err error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return 0, head, fmt.Errorf("audit: checkpoint verifier: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return 0, head, fmt.Errorf("audit: open checkpoint: %w", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) != 4 || lines[0] != checkpointHeader || lines[3] != "" {
		return 0, head, errors.New("audit: open checkpoint: malformed checkpoint text")
	}
	size, err = strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(size, 10) != lines[1] {
		return 0, head, errors.New("audit: open checkpoint: malformed size")
	}
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != len(head) || base64.StdEncoding.EncodeToString(h) != lines[2] {
		return 0, head, errors.New("audit: open checkpoint: malformed head hash")
	}
	copy(head[:], h)
	return size, head, nil
}

// Sign is SignCheckpoint for cp.
func (cp Checkpoint) Sign(signerKey string) ([]byte, error) {
	return SignCheckpoint(signerKey, cp.Size, cp.Head)
}
