package identity

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"

	"filippo.io/age"
)

// TestAgeCLIOpensEncryptedIdentity builds the real age CLI and checks that
// `age -d -i FILE` opens what notevault encrypts, for every kind of identity
// file WriteFile produces without a passphrase. (A passphrase-protected file
// needs a terminal for the CLI's prompt; the same decryption path is tested
// through the library in TestWriteFileLoadPassphrase.)
func TestAgeCLIOpensEncryptedIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the age CLI")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go tool at %s: %v", goTool, err)
	}
	dir := t.TempDir()
	ageBin := buildAgeCLI(t, goTool, dir)

	_, sshKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sshID, err := Parse(sshPEM(t, sshKey))
	if err != nil {
		t.Fatal(err)
	}
	pq, err := Generate(true)
	if err != nil {
		t.Fatal(err)
	}
	classic, err := Generate(false)
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]*Identity{"post-quantum": pq, "classic": classic, "ssh": sshID} {
		t.Run(name, func(t *testing.T) {
			keyFile := filepath.Join(dir, name+".key")
			if err := WriteFile(keyFile, id, nil); err != nil {
				t.Fatal(err)
			}
			r, err := id.Public().AgeRecipient()
			if err != nil {
				t.Fatal(err)
			}
			var ct bytes.Buffer
			w, err := age.Encrypt(&ct, r)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte("hello"))
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(ageBin, "-d", "-i", keyFile)
			cmd.Stdin = &ct
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("age -d -i: %v\n%s", err, stderr.Bytes())
			}
			if string(out) != "hello" {
				t.Fatalf("age -d -i printed %q, want %q", out, "hello")
			}
		})
	}
}

// buildAgeCLI builds the age CLI of the version in the module graph. The main
// module may not list every module age's CLI imports (cmd/age needs
// filippo.io/nistec through age/tag), in which case the same version is
// built on its own with `go install`, which needs the module proxy.
func buildAgeCLI(t *testing.T, goTool, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "age")
	inModule, err := exec.Command(goTool, "build", "-o", bin, "filippo.io/age/cmd/age").CombinedOutput()
	if err == nil {
		return bin
	}
	version := "v1.3.2"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "filippo.io/age" {
				version = m.Version
			}
		}
	}
	t.Logf("go build filippo.io/age/cmd/age in the module failed (%v); trying go install filippo.io/age/cmd/age@%s", err, version)
	install := exec.Command(goTool, "install", "filippo.io/age/cmd/age@"+version)
	install.Dir = dir
	install.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=", "GOWORK=off")
	if standalone, err := install.CombinedOutput(); err != nil {
		t.Fatalf("cannot build the age CLI: %v\nin the module:\n%s\nstandalone:\n%s\n"+
			"hint: run `go get filippo.io/age/cmd/age@%s` at the module root", err, inModule, standalone, version)
	}
	return bin
}
