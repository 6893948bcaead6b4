// Package seal is the assured-deletion layer of notevault.
//
// Every age file the vault stores is sealed a second time with
// XChaCha20-Poly1305 under a shred key. Shred keys live outside badger, one
// small file per bucket, in a directory the vault owns. Destroying a bucket's
// key (overwrite in place, fsync, unlink, fsync the directory) makes every copy
// of every blob sealed under it unreadable for everyone, including stale copies
// that badger has not compacted away yet and that the participants' own age
// keys would otherwise still open.
//
// The shred layer is about deletion, not confidentiality: confidentiality is
// age's job. A thief of the whole vault directory holds the live shred keys.
package seal

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of a shred key.
const KeySize = chacha20poly1305.KeySize

// formatVersion is bound into the associated data of every sealed blob.
const formatVersion = 1

// ErrOpen reports that a blob does not open under the given key and binding:
// the wrong key, a blob moved to another record or bucket, or a tampered blob.
var ErrOpen = errors.New("sealed blob does not open (wrong key, moved or tampered)")

// AD builds the associated data that binds a blob to the record that holds it
// and to its bucket, so a sealed blob cannot be moved to another note or bucket.
func AD(blobID, bucket string) []byte {
	ad := make([]byte, 0, 32+len(blobID)+len(bucket))
	ad = append(ad, "notevault seal v1"...)
	ad = append(ad, formatVersion)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(blobID)))
	ad = append(ad, blobID...)
	ad = binary.BigEndian.AppendUint16(ad, uint16(len(bucket)))
	ad = append(ad, bucket...)
	return ad
}

// Seal encrypts plaintext under key with a random 24-byte nonce. The result is
// nonce || ciphertext || tag.
func Seal(key, ad, plaintext []byte) ([]byte, error) {
	return sealWithNonce(rand.Reader, key, ad, plaintext)
}

func sealWithNonce(r io.Reader, key, ad, plaintext []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("seal: reading randomness: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

// Open reverses Seal. It returns ErrOpen when the key or binding is wrong.
func Open(key, ad, blob []byte) ([]byte, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	if len(blob) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce, ct := blob[:aead.NonceSize()], blob[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}
