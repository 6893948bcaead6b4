package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/notevault/notevault/policy"
	"github.com/notevault/notevault/vault/identity"
)

// initVault makes a closed, initialised vault and returns its directory.
func initVault(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if err := Init(dir); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return dir
}

func openClose(t *testing.T, dir string) error {
	t.Helper()
	v, err := Open(context.Background(), dir, Options{})
	if err != nil {
		return err
	}
	if err := v.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return nil
}

func setMode(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// Before this was fixed, Init in an existing 0777 directory left it 0777
// (MkdirAll does not touch a directory that exists): the negative control.
func TestInitMakesExistingDirectoryPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	setMode(t, dir, 0o777) // explicitly: the umask would mask a Mkdir mode
	if err := Init(dir); err != nil {
		t.Fatalf("Init: %v", err)
	}
	for _, sub := range privateDirs {
		st, err := os.Stat(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o700 {
			t.Errorf("%s has mode %04o after Init, want 0700", sub, got)
		}
	}
	if err := openClose(t, dir); err != nil {
		t.Fatalf("Open after Init: %v", err)
	}
}

// Init in a directory someone else could write before it was made private:
// links planted there must not turn Init's writes into writes elsewhere.
// Before this was fixed, a checkpoint.pub symlink had Init overwrite its
// target, and a dangling notevault symlink had Init create the file it named:
// the victim checks are the negative control.
func TestInitDoesNotWriteThroughPlantedLinks(t *testing.T) {
	outside := t.TempDir()
	victim := filepath.Join(outside, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, filepath.Join(dir, checkpointPub)); err != nil {
		t.Fatal(err)
	}
	if err := Init(dir); err != nil {
		t.Fatalf("Init: %v", err)
	}
	if got := fileBytes(t, victim); string(got) != "precious" {
		t.Fatalf("Init wrote through the planted checkpoint.pub link: victim now %q", got)
	}
	if st, err := os.Lstat(filepath.Join(dir, checkpointPub)); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("checkpoint.pub is not a regular file after Init: %v", err)
	}
	if err := openClose(t, dir); err != nil {
		t.Fatalf("Open after Init: %v", err)
	}

	dir2 := filepath.Join(t.TempDir(), "vault")
	if err := os.Mkdir(dir2, 0o700); err != nil {
		t.Fatal(err)
	}
	created := filepath.Join(outside, "created")
	if err := os.Symlink(created, filepath.Join(dir2, markerFile)); err != nil {
		t.Fatal(err)
	}
	if err := Init(dir2); !errors.Is(err, ErrExists) {
		t.Fatalf("Init with a planted marker link: %v, want ErrExists", err)
	}
	if _, err := os.Lstat(created); !os.IsNotExist(err) {
		t.Fatalf("Init created %s through the planted marker link: %v", created, err)
	}
}

// An attacker who can write a vault directory can plant links, replace the
// store or remove shred keys, so Open refuses a vault whose directories are
// writable by group or others. The control: modes that only let others read
// still open (the refusal is about writing, not about any bit at all), and
// the same vault opens again once it is made private.
func TestOpenRefusesDirectoriesWritableByOthers(t *testing.T) {
	dir := initVault(t)
	for _, sub := range privateDirs {
		p := filepath.Join(dir, sub)
		for _, mode := range []os.FileMode{0o777, 0o770, 0o720, 0o702, 0o777 | os.ModeSticky} {
			setMode(t, p, mode)
			err := openClose(t, dir)
			var ie *InsecureError
			if !errors.Is(err, ErrInsecure) || !errors.As(err, &ie) {
				t.Fatalf("%s mode %04o: Open err = %v, want ErrInsecure", sub, mode, err)
			}
			if ie.Path != p {
				t.Errorf("%s mode %04o: error names %s, want %s", sub, mode, ie.Path, p)
			}
			if want := fmt.Sprintf("vault directory %s is writable by others (mode %04o)", p, mode.Perm()); err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
		}
		for _, mode := range []os.FileMode{0o755, 0o750, 0o700} {
			setMode(t, p, mode)
			if err := openClose(t, dir); err != nil {
				t.Fatalf("%s mode %04o: Open: %v", sub, mode, err)
			}
		}
	}
}

// The marker and the checkpoint key were read with os.ReadFile: a name
// planted to point at /dev/zero made every command read until memory ran
// out, and a FIFO blocked it for good. The deadline is the negative control:
// on the previous code each case ran into it (or out of memory first).
func TestOpenRefusesEndlessVaultFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		plant      func(t *testing.T, p string)
		want       string
	}{
		{"marker to /dev/zero", markerFile, func(t *testing.T, p string) { replaceWithSymlink(t, "/dev/zero", p) }, "is not a regular file"},
		{"marker a fifo", markerFile, func(t *testing.T, p string) { replaceWithFifo(t, p) }, "is not a regular file"},
		{"marker too long", markerFile, func(t *testing.T, p string) {
			if err := os.WriteFile(p, make([]byte, 1<<20), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "is larger than 4096 bytes"},
		{"checkpoint key to /dev/zero", checkpointKey, func(t *testing.T, p string) { replaceWithSymlink(t, "/dev/zero", p) }, "is not a regular file"},
		{"checkpoint key a fifo", checkpointKey, func(t *testing.T, p string) { replaceWithFifo(t, p) }, "is not a regular file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := initVault(t)
			tc.plant(t, filepath.Join(dir, tc.file))
			done := make(chan error, 1)
			go func() {
				v, err := Open(context.Background(), dir, Options{})
				if err == nil {
					v.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, tc.file)+" "+tc.want) {
					t.Fatalf("Open err = %v, want %q naming the file", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Open did not return within 5s")
			}
		})
	}
}

func replaceWithSymlink(t *testing.T, target, p string) {
	t.Helper()
	removeFile(t, p)
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

func replaceWithFifo(t *testing.T, p string) {
	t.Helper()
	removeFile(t, p)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
}

// withData makes a closed vault holding participants, an accepted agreement
// and a note, and returns it with the note's id.
func withData(t *testing.T) (*fixture, string) {
	t.Helper()
	f := newFixture(t, true)
	n := f.add(policy.Session, f.alice, content("kept", "KEPT BODY"))
	f.close()
	return f, n.ID
}

// wantIntact opens the vault and checks that what withData wrote reads back.
func wantIntact(t *testing.T, f *fixture, noteID string) {
	t.Helper()
	f.open()
	defer f.close()
	ps, err := f.v.Participants(f.ctx)
	if err != nil || len(ps) != 3 {
		t.Fatalf("Participants = %d, %v; want 3", len(ps), err)
	}
	got, err := f.v.ReadNote(f.ctx, noteID, f.bob)
	if err != nil || string(got.Content.Body) != "KEPT BODY" {
		t.Fatalf("ReadNote = %v", err)
	}
}

func wantDamaged(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open err = %v, want ErrDamaged", err)
	}
	if err.Error() != msg {
		t.Fatalf("Open err = %q, want %q", err, msg)
	}
}

// A vault marker with a missing or emptied store is refused. Before this was
// fixed, badger took each case for a new store: it opened empty, deleted
// every table its MANIFEST did not name, and the vault listed nothing with
// no error. The control after each refusal puts the MANIFEST back and finds
// every record: the refusal touched nothing.
func TestOpenRefusesMissingOrEmptiedStore(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, db string)
		why    string
	}{
		{"MANIFEST deleted", func(t *testing.T, db string) { removeFile(t, filepath.Join(db, manifestFile)) }, "no MANIFEST"},
		{"MANIFEST emptied", func(t *testing.T, db string) { truncateFile(t, filepath.Join(db, manifestFile), 0) }, "no MANIFEST"},
		{"MANIFEST cut in its magic", func(t *testing.T, db string) { truncateFile(t, filepath.Join(db, manifestFile), 5) }, "the MANIFEST does not parse"},
		// 8 bytes are the magic alone, 16 the magic and the empty change
		// set a new store starts with: both parse, and list no table.
		{"MANIFEST cut to its magic", func(t *testing.T, db string) { truncateFile(t, filepath.Join(db, manifestFile), 8) }, "the MANIFEST lists no table but 1 table file is there"},
		{"MANIFEST cut to its first change set", func(t *testing.T, db string) { truncateFile(t, filepath.Join(db, manifestFile), 16) }, "the MANIFEST lists no table but 1 table file is there"},
		{"MANIFEST a symlink", func(t *testing.T, db string) {
			removeFile(t, filepath.Join(db, manifestFile))
			if err := os.Symlink("/dev/zero", filepath.Join(db, manifestFile)); err != nil {
				t.Fatal(err)
			}
		}, "the MANIFEST cannot be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, id := withData(t)
			db := filepath.Join(f.dir, dbDir)
			tables, _ := filepath.Glob(filepath.Join(db, "*.sst"))
			if len(tables) != 1 {
				t.Fatalf("the fixture left %d tables, want 1 (the cases assume it)", len(tables))
			}
			saved := fileBytes(t, filepath.Join(db, manifestFile))
			tc.damage(t, db)
			wantDamaged(t, openClose(t, f.dir), "the vault's store "+db+" is missing or damaged ("+tc.why+"); restore it from a backup")
			os.Remove(filepath.Join(db, manifestFile))
			if err := os.WriteFile(filepath.Join(db, manifestFile), saved, 0o600); err != nil {
				t.Fatal(err)
			}
			wantIntact(t, f, id)
		})
	}
	t.Run("store directory deleted", func(t *testing.T) {
		f, _ := withData(t)
		db := filepath.Join(f.dir, dbDir)
		if err := os.RemoveAll(db); err != nil {
			t.Fatal(err)
		}
		wantDamaged(t, openClose(t, f.dir), "the vault's store "+db+" is missing or damaged (no such directory); restore it from a backup")
		if _, err := os.Stat(db); !os.IsNotExist(err) {
			t.Fatalf("the refused open created %s: %v", db, err)
		}
	})
	t.Run("a fresh vault opens", func(t *testing.T) {
		if err := openClose(t, initVault(t)); err != nil {
			t.Fatalf("Open of a fresh vault: %v", err)
		}
	})
}

func removeFile(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func truncateFile(t *testing.T, p string, size int64) {
	t.Helper()
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
}

func fileBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A truncated table made badger panic in one of its own goroutines, which
// no recover can catch: the process died with a stack trace. Open now reads
// every table first, in its own goroutine, and refuses with one sentence.
// Every cut below ends in a refusal, never a crash of the test binary; the
// control puts the bytes back and finds every record (nothing was deleted
// or rewritten), and TestBadgerPanicsOnTruncatedTable shows that badger
// alone still dies on the same file.
func TestOpenRefusesTruncatedTable(t *testing.T) {
	f, id := withData(t)
	tables, _ := filepath.Glob(filepath.Join(f.dir, dbDir, "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("the fixture left %d tables, want 1", len(tables))
	}
	sst := tables[0]
	whole := fileBytes(t, sst)
	size := int64(len(whole))
	for _, cut := range []int64{0, 1, 100, size / 2, size - 5, size - 4, size - 1} {
		truncateFile(t, sst, cut)
		wantDamaged(t, openClose(t, f.dir), "the vault's store is damaged: table "+filepath.Base(sst)+" is truncated or corrupt; restore it from a backup")
		if err := os.WriteFile(sst, whole, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The length of the checksum, in the last 4 bytes, pointing anywhere.
	bad := bytes.Clone(whole)
	binary.BigEndian.PutUint32(bad[len(bad)-4:], 0x7fffffff)
	if err := os.WriteFile(sst, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	wantDamaged(t, openClose(t, f.dir), "the vault's store is damaged: table "+filepath.Base(sst)+" is truncated or corrupt; restore it from a backup")
	if err := os.WriteFile(sst, whole, 0o600); err != nil {
		t.Fatal(err)
	}
	wantIntact(t, f, id)

	removeFile(t, sst)
	wantDamaged(t, openClose(t, f.dir), "the vault's store is damaged: table "+filepath.Base(sst)+" is missing; restore it from a backup")
}

// The negative control of TestOpenRefusesTruncatedTable, in a child process
// because it crashes: badger.Open on a store with a truncated table panics
// in a goroutine of its own, and the process exits 2 with a stack trace.
func TestBadgerPanicsOnTruncatedTable(t *testing.T) {
	if db := os.Getenv("NOTEVAULT_TEST_BADGER_DB"); db != "" {
		// Child: badger alone, without checkStore in front of it.
		db, err := badger.Open(badgerOptions(db))
		if err == nil {
			db.Close()
		}
		t.Fatalf("badger.Open returned (%v) instead of panicking", err)
	}
	f, _ := withData(t)
	tables, _ := filepath.Glob(filepath.Join(f.dir, dbDir, "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("the fixture left %d tables, want 1", len(tables))
	}
	st, err := os.Stat(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	truncateFile(t, tables[0], st.Size()/2)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBadgerPanicsOnTruncatedTable$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NOTEVAULT_TEST_BADGER_DB="+filepath.Join(f.dir, dbDir))
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 || !bytes.Contains(out, []byte("panic")) || !bytes.Contains(out, []byte("goroutine")) {
		t.Fatalf("badger on a truncated table: %v, want a panic (exit 2); output:\n%s", err, out)
	}
	// And the vault refuses the same store with a sentence.
	if err := openClose(t, f.dir); !errors.Is(err, ErrDamaged) {
		t.Fatalf("Open = %v, want ErrDamaged", err)
	}
}

// A process killed between creating a log file and extending it leaves a
// zero-length 00001.mem (memtable log) or NNNNNN.vlog (value log). badger
// refuses either at the next open ("Create a new file"), so every command
// failed; such a file holds nothing and is removed before the open. The
// control after each case shows badger alone still refusing the same file.
func TestOpenRemovesEmptyLogs(t *testing.T) {
	for _, kind := range []string{"memtable log", "value log"} {
		t.Run(kind, func(t *testing.T) {
			f, id := withData(t)
			db := filepath.Join(f.dir, dbDir)
			var p string
			switch kind {
			case "memtable log":
				// After a clean close no memtable log is left, so the next
				// open creates the first: badger names them %05d.mem from 1.
				if mems, _ := filepath.Glob(filepath.Join(db, "*.mem")); len(mems) != 0 {
					t.Fatalf("memtable logs left after a clean close: %v", mems)
				}
				p = filepath.Join(db, "00001.mem")
			case "value log":
				// %06d.vlog, the next one above the highest there.
				next := 1
				vlogs, _ := filepath.Glob(filepath.Join(db, "*.vlog"))
				for _, v := range vlogs {
					var n int
					if _, err := fmt.Sscanf(filepath.Base(v), "%06d.vlog", &n); err == nil && n >= next {
						next = n + 1
					}
				}
				p = filepath.Join(db, fmt.Sprintf("%06d.vlog", next))
			}
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			wantIntact(t, f, id)

			// Control: badger alone refuses the same zero-length file.
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			bdb, err := badger.Open(badgerOptions(db))
			if err == nil {
				bdb.Close()
				t.Fatalf("badger opened a store with a zero-length %s: the removal is not needed", kind)
			}
			if !strings.Contains(err.Error(), "Create a new file") {
				t.Fatalf("badger.Open: %v, want its \"Create a new file\" refusal", err)
			}
		})
	}
}

// BenchmarkOpen measures what the checks before badger's open cost, and
// what badger's checksum modes would, on a vault of 3,000 notes written by
// 30 processes (about 20 MB of tables):
//
//	go test -run '^$' -bench BenchmarkOpen -benchtime 30x ./vault
//
// "badger/OnTableRead" is what verifying every block of every table at
// open costs: badger.Open does it in its own goroutines, where a truncated
// table still panics first. Besides wall time each reports cpu-ms/op, the
// CPU time of the whole process (badger's goroutines too), which a loaded
// machine disturbs less.
func BenchmarkOpen(b *testing.B) {
	dir := benchVault(b, 3000, 100)
	db := filepath.Join(dir, dbDir)
	tables, _ := filepath.Glob(filepath.Join(db, "*.sst"))
	var size int64
	for _, p := range tables {
		if st, err := os.Stat(p); err == nil {
			size += st.Size()
		}
	}
	b.Logf("%d tables, %.1f MB", len(tables), float64(size)/1e6)
	b.Run("checkStore", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if err := checkStore(db, badgerOptions(db)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("vault.Open+Close", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			v, err := Open(b.Context(), dir, Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := v.Close(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, m := range []struct {
		name string
		mode options.ChecksumVerificationMode
	}{
		{"NoVerification", options.NoVerification},
		{"OnBlockRead", options.OnBlockRead},
		{"OnTableRead", options.OnTableRead},
		{"OnTableAndBlockRead", options.OnTableAndBlockRead},
	} {
		b.Run("badger/"+m.name, func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				bdb, err := badger.Open(badgerOptions(db).WithChecksumVerificationMode(m.mode))
				if err != nil {
					b.Fatal(err)
				}
				if err := bdb.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// reportCPU starts counting the process's CPU time; the function it returns
// reports it per operation.
func reportCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// benchVault writes that many session notes (1.5 KB of body each), closing
// and reopening the vault every perProcess notes as CLI processes do.
func benchVault(b *testing.B, notes, perProcess int) string {
	b.Helper()
	ctx := b.Context()
	dir := filepath.Join(b.TempDir(), "vault")
	if err := Init(dir); err != nil {
		b.Fatal(err)
	}
	clock := newFakeClock()
	v, err := Open(ctx, dir, Options{Now: clock.Now})
	if err != nil {
		b.Fatal(err)
	}
	alice, bob := newIdentity(b), newIdentity(b)
	for _, p := range []struct {
		name string
		role policy.Role
		id   *identity.Identity
	}{{"alice", policy.Mentor, alice}, {"bob", policy.Mentee, bob}, {"carol", policy.Supervisor, newIdentity(b)}} {
		if _, err := v.AddParticipant(ctx, p.name, p.role, p.id.Public().String()); err != nil {
			b.Fatal(err)
		}
	}
	a, err := v.CreateAgreement(ctx, agreementText(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range []*identity.Identity{alice, bob} {
		clock.Advance(time.Second)
		if _, err := v.AcceptAgreement(ctx, a.ID, id); err != nil {
			b.Fatal(err)
		}
	}
	body := make([]byte, 750)
	for i := range notes {
		clock.Advance(time.Second)
		rand.Read(body)
		nn := NewNote{Agreement: a.ID, Kind: policy.Session, Content: content(fmt.Sprint("note ", i), hex.EncodeToString(body))}
		if _, err := v.AddNote(ctx, nn, alice); err != nil {
			b.Fatal(err)
		}
		if (i+1)%perProcess == 0 {
			if err := v.Close(); err != nil {
				b.Fatal(err)
			}
			if v, err = Open(ctx, dir, Options{Now: clock.Now}); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := v.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}
