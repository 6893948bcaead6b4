package seal

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealKnownAnswer(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, KeySize)
	nonce := bytes.NewReader(bytes.Repeat([]byte{0x07}, 24))
	blob, err := sealWithNonce(nonce, key, AD("n-1", "t-2027010112"), []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	// Computed once with this code and pinned: a change of cipher, nonce
	// layout or associated data breaks every stored vault.
	const want = "0707070707070707070707070707070707070707070707079f69e9040c7025301750c09deecff878aff81585b3"
	if got := hex.EncodeToString(blob); got != want {
		t.Fatalf("sealed blob changed:\n got %s\nwant %s", got, want)
	}
	pt, err := Open(key, AD("n-1", "t-2027010112"), blob)
	if err != nil || string(pt) != "hello" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
}

func TestOpenRefusesWrongBinding(t *testing.T) {
	key := bytes.Repeat([]byte{1}, KeySize)
	other := bytes.Repeat([]byte{2}, KeySize)
	blob, err := Seal(key, AD("n-1", "b1"), []byte("secret body"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(blob)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		key, ad, blob []byte
	}{
		"wrong key":      {other, AD("n-1", "b1"), blob},
		"moved to note":  {key, AD("n-2", "b1"), blob},
		"moved bucket":   {key, AD("n-1", "b2"), blob},
		"tampered":       {key, AD("n-1", "b1"), tampered},
		"truncated":      {key, AD("n-1", "b1"), blob[:10]},
		"ambiguous join": {key, AD("n-1b", "1"), blob},
	} {
		if _, err := Open(tc.key, tc.ad, tc.blob); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: Open err = %v, want ErrOpen", name, err)
		}
	}
	if bytes.Contains(blob, []byte("secret body")) {
		t.Fatal("plaintext visible in sealed blob")
	}
}

func TestKeyringLifecycle(t *testing.T) {
	dir := t.TempDir()
	k, err := OpenKeyring(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Key("b1", false); !errors.Is(err, ErrShredded) {
		t.Fatalf("missing key: err = %v, want ErrShredded", err)
	}
	key, err := k.Key("b1", true)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "b1.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, st.Mode())
	}
	// A fresh keyring (another process) reads the same key from disk.
	k2, _ := OpenKeyring(dir)
	key2, err := k2.Key("b1", false)
	if err != nil || !bytes.Equal(key, key2) {
		t.Fatalf("reopened key differs: %v", err)
	}
	if bs, _ := k2.Buckets(); len(bs) != 1 || bs[0] != "b1" {
		t.Fatalf("Buckets = %v", bs)
	}
	if err := k2.Destroy("b1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b1.key")); !os.IsNotExist(err) {
		t.Fatalf("key file still there: %v", err)
	}
	k3, _ := OpenKeyring(dir)
	if _, err := k3.Key("b1", false); !errors.Is(err, ErrShredded) {
		t.Fatalf("after destroy: err = %v, want ErrShredded", err)
	}
	if err := k3.Destroy("b1"); err != nil {
		t.Fatalf("destroying twice: %v", err)
	}
	if _, err := k3.Key("../x", true); err == nil {
		t.Fatal("path traversal in bucket name accepted")
	}
}

func TestOpenKeyringRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, ".tmp-123")
	if err := os.WriteFile(tmp, bytes.Repeat([]byte{9}, KeySize), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyring(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("leftover temp key survived OpenKeyring: %v", err)
	}
}
