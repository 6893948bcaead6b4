// Package kek keeps key-encryption keys (KEKs): the keys that wrap a vault's
// shred keys where the store cannot be trusted to forget. PostgreSQL keeps
// deleted bytes (free space after VACUUM, WAL, archives, standbys, base
// backups), so notevault serve stores a shred key there only wrapped under
// an epoch KEK kept outside the database. Each epoch the sweep rotates the
// KEK, re-wraps every live shred key under the new version (Rewrap), and
// destroys the versions older than the backup window: a shred key deleted
// from the database at t is then unreadable from every copy of it, anywhere,
// once the versions that wrapped it are destroyed.
//
// A Provider is where the KEK versions live: a directory of key files
// (OpenDir), or a KMS. See docs/kek.md.
package kek

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrDestroyed reports that a wrapped key's KEK version was destroyed: the
// key is gone for good. It is distinct from a wrapped key that does not
// open (wrong binding, tampering), which is an error of its own.
var ErrDestroyed = errors.New("the key-encryption key that wrapped it was destroyed")

// ErrUnwrap reports a wrapped key that does not open under its version:
// moved to another binding, or tampered with.
var ErrUnwrap = errors.New("the wrapped key does not open (moved or tampered)")

// Version numbers a KEK, from 1.
type Version uint32

// VersionInfo describes one version.
type VersionInfo struct {
	Version Version
	Created time.Time
}

// Wrapped is a key wrapped under one KEK version.
type Wrapped struct {
	Version    Version
	Ciphertext []byte
}

const wrappedPrefix = "kek1:"

// String is the stored form: "kek1:<version>:<base64 ciphertext>".
func (w Wrapped) String() string {
	return wrappedPrefix + strconv.FormatUint(uint64(w.Version), 10) + ":" + base64.RawStdEncoding.EncodeToString(w.Ciphertext)
}

// Parse reads the form String writes.
func Parse(s string) (Wrapped, error) {
	rest, ok := strings.CutPrefix(s, wrappedPrefix)
	v, ct, ok2 := strings.Cut(rest, ":")
	n, err := strconv.ParseUint(v, 10, 32)
	if !ok || !ok2 || err != nil || n == 0 {
		return Wrapped{}, errors.New("not a wrapped key")
	}
	b, err := base64.RawStdEncoding.DecodeString(ct)
	if err != nil {
		return Wrapped{}, errors.New("not a wrapped key")
	}
	return Wrapped{Version: Version(n), Ciphertext: b}, nil
}

// Provider keeps KEK versions.
type Provider interface {
	// Current is the version Wrap uses (creating version 1 on first use).
	Current(ctx context.Context) (Version, error)
	// Wrap wraps plaintext under the current version, bound to aad (the
	// shred key's bucket): it unwraps only with the same aad.
	Wrap(ctx context.Context, plaintext, aad []byte) (Wrapped, error)
	// Unwrap opens w. A destroyed version is ErrDestroyed; a w that does
	// not open is ErrUnwrap.
	Unwrap(ctx context.Context, w Wrapped, aad []byte) ([]byte, error)
	// Rotate makes a new version current.
	Rotate(ctx context.Context) (Version, error)
	// Destroy destroys version v and every older one; the current version
	// is refused.
	Destroy(ctx context.Context, v Version) error
	// Versions lists the versions that exist, oldest first.
	Versions(ctx context.Context) ([]VersionInfo, error)
}

// Rewrap unwraps w and wraps the key again under the current version.
func Rewrap(ctx context.Context, p Provider, w Wrapped, aad []byte) (Wrapped, error) {
	key, err := p.Unwrap(ctx, w, aad)
	if err != nil {
		return Wrapped{}, err
	}
	defer clear(key)
	return p.Wrap(ctx, key, aad)
}

// bind is the associated data of a wrapped key: the format, its version
// and the caller's binding.
func bind(v Version, aad []byte) []byte {
	return fmt.Appendf(nil, "notevault kek v1\n%d\n%s", v, aad)
}
