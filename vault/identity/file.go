package identity

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync/atomic"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// maxFileSize bounds what Load reads. A post-quantum identity file is about
// 2.2 KiB, armored and encrypted about 3.5 KiB.
const maxFileSize = 64 << 10

// scryptWorkFactor is the log2 scrypt work factor WriteFile uses; 0 means
// age's default.
var scryptWorkFactor atomic.Int32

// SetScryptWorkFactor sets the scrypt work factor (2^logN) that [WriteFile]
// uses for passphrase-protected identities. It is a test hook: production
// code never calls it and gets age's default. It panics outside 1..30.
func SetScryptWorkFactor(logN int) {
	if logN < 1 || logN > 30 {
		panic("identity: SetScryptWorkFactor called with illegal value")
	}
	scryptWorkFactor.Store(int32(logN))
}

// ParseWithPassphrase opens a passphrase-encrypted identity file and parses
// the identity inside with [Parse]. An unencrypted file is parsed as is. A
// passphrase that does not open the file yields [ErrWrongPassphrase].
func ParseWithPassphrase(data []byte, passphrase []byte) (*Identity, error) {
	if !isEncrypted(data) {
		return Parse(data)
	}
	if len(passphrase) == 0 {
		return nil, errors.New("empty passphrase")
	}
	si, err := age.NewScryptIdentity(string(passphrase))
	if err != nil {
		return nil, err
	}
	var src io.Reader = bytes.NewReader(data)
	if !bytes.HasPrefix(data, []byte(binaryAgeHead)) {
		src = armor.NewReader(bytes.NewReader(bytes.TrimSpace(data)))
	}
	r, err := age.Decrypt(src, si)
	if nm, ok := errors.AsType[*age.NoIdentityMatchError](err); ok {
		if slices.Equal(nm.StanzaTypes, []string{"scrypt"}) {
			return nil, ErrWrongPassphrase
		}
		return nil, errors.New("identity file is age-encrypted to a key, not with a passphrase")
	}
	if err != nil {
		// The header of an encrypted file holds no secret.
		return nil, fmt.Errorf("malformed encrypted identity file: %v", err)
	}
	// The plaintext is shorter than the ciphertext: one buffer, never
	// regrown, so no stray copy of the key is left behind.
	buf := make([]byte, len(data)+1)
	defer clear(buf)
	n, err := io.ReadFull(r, buf)
	switch {
	case err == nil:
		return nil, errors.New("malformed encrypted identity file: too long")
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		return nil, fmt.Errorf("malformed encrypted identity file: %v", err)
	}
	id, err := Parse(buf[:n])
	if errors.Is(err, ErrPassphraseRequired) {
		return nil, errors.New("encrypted identity file holds another encrypted file")
	}
	return id, err
}

// Load reads and parses the identity file at path. passphrase is called
// only when the file is passphrase-encrypted; Load clears the bytes it
// returns. With a nil passphrase func an encrypted file yields an error
// wrapping [ErrPassphraseRequired]. Errors read "identity file "path": …"
// and never contain secrets.
func Load(path string, passphrase func() ([]byte, error)) (*Identity, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, fileError(path, err)
	}
	defer clear(data[:cap(data)])
	id, err := Parse(data)
	if errors.Is(err, ErrPassphraseRequired) && passphrase != nil {
		pass, perr := passphrase()
		defer clear(pass)
		if perr != nil {
			return nil, fmt.Errorf("identity file %q: reading passphrase: %w", path, perr)
		}
		id, err = ParseWithPassphrase(data, pass)
	}
	if err != nil {
		return nil, fileError(path, err)
	}
	return id, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, maxFileSize+1)
	n, err := io.ReadFull(f, buf)
	switch {
	case err == nil:
		clear(buf)
		return nil, fmt.Errorf("file is larger than %d KiB", maxFileSize>>10)
	case err != io.EOF && err != io.ErrUnexpectedEOF:
		clear(buf)
		return nil, err
	}
	return buf[:n], nil
}

// fileError prefixes err with the path, dropping the path that *fs.PathError
// would repeat. errors.Is still sees the cause.
func fileError(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return fmt.Errorf("identity file %q: %w", path, err)
}

// Insecure reports whether the identity file at path can be read or written
// by its group or by others, which the CLI warns about. It is always false on
// Windows, where permission bits mean nothing.
func Insecure(path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, fileError(path, err)
	}
	if runtime.GOOS == "windows" {
		return false, nil
	}
	return fi.Mode().Perm()&0o077 != 0, nil
}

// WriteFile creates path (it never overwrites) with mode 0600 and writes
// id.Encode() to it, synced to disk. With a non-nil passphrase the file is
// instead that text age-encrypted to the passphrase (scrypt) and armored,
// which `age -d -i path` opens after asking for the passphrase. On any
// error after the file was created it is removed.
func WriteFile(path string, id *Identity, passphrase []byte) (err error) {
	content, err := Marshal(id, passphrase)
	if err != nil {
		return err
	}
	defer clear(content)

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fileError(path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
			err = fileError(path, err)
		}
	}()
	if _, err = f.Write(content); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	syncDir(filepath.Dir(path))
	return nil
}

// Marshal returns what [WriteFile] writes: id.Encode(), or with a non-nil
// passphrase that text age-encrypted to the passphrase and armored. Without
// a passphrase the result holds the secret key: clear it when done.
func Marshal(id *Identity, passphrase []byte) ([]byte, error) {
	if id == nil {
		return nil, errors.New("identity.Marshal: nil identity")
	}
	content := id.Encode()
	if passphrase == nil {
		return content, nil
	}
	defer clear(content)
	if id.kind == kindSSH {
		return nil, errors.New("cannot protect an SSH identity with a passphrase here: use ssh-keygen -p")
	}
	return encryptWithPassphrase(content, passphrase)
}

// encryptWithPassphrase returns text encrypted with an age scrypt recipient,
// armored. The result holds no secret.
func encryptWithPassphrase(text, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errors.New("empty passphrase")
	}
	r, err := age.NewScryptRecipient(string(passphrase))
	if err != nil {
		return nil, err
	}
	if logN := scryptWorkFactor.Load(); logN != 0 {
		r.SetWorkFactor(int(logN))
	}
	var out bytes.Buffer
	aw := armor.NewWriter(&out)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(text); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// syncDir makes the new directory entry durable; best effort, since some
// platforms and filesystems cannot sync a directory.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}
