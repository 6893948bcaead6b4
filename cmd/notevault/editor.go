package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The note body is plaintext while $EDITOR works on it, so the file lives in
// memory, in a directory only its owner can enter:
//
//	$XDG_RUNTIME_DIR/notevault-edit/         0700, else /dev/shm/notevault-edit-UID/
//	    PID-RANDOM/                          0700, one per run, flock'ed while it runs
//	        note.txt                         0600, created O_EXCL
//
// Each run gets its own subdirectory because editors put copies of the text
// next to the file (vim's .note.txt.swp, emacs's #note.txt#); whatever is in
// the subdirectory is wiped with it. The running notevault holds an exclusive
// flock on its subdirectory. The kernel drops that lock when the process dies,
// however it dies (kill -9 too), so a subdirectory nobody holds is left over
// from a dead run and is wiped before the next editor opens. The lock, unlike
// a pid in the name, cannot be fooled by pid reuse or another pid namespace
// sharing /dev/shm; the pid in the name is only for people reading ls.
//
// The editor only collects the text: notevault asks the vault whether the
// note can be written before it opens the editor, and writes it after. If
// the write fails after the editor closed (the vault busy, gone, or the
// agreement changed meanwhile), the text is not wiped with the rest but kept
// where the sweep above never looks, beside notevault-edit:
//
//	$XDG_RUNTIME_DIR/notevault-kept/         0700, else /dev/shm/notevault-kept-UID/
//	    note-20270102T030405Z-RANDOM.txt     0600, created O_EXCL
//
// and the error names the file and the note add --file command that writes
// it; that command wipes the file once the note is written. The directory is
// memory too, so what nobody retries is gone at logout or reboot.

const (
	// shmDir is the fallback when $XDG_RUNTIME_DIR is unset: memory, not disk.
	shmDir = "/dev/shm"
	// editDirName is the private directory under $XDG_RUNTIME_DIR; under
	// /dev/shm, which everyone shares, it gets the uid as a suffix.
	editDirName = "notevault-edit"
	// keptDirName is the private directory, beside editDirName, where the
	// text of a note that could not be written is kept for a retry.
	keptDirName = "notevault-kept"
	// editFileName is the file the editor opens, in the run's subdirectory.
	editFileName = "note.txt"
	// editorGrace is how long an interrupted editor has to exit after
	// SIGTERM (vim restores the terminal and exits in milliseconds) before
	// it is killed.
	editorGrace = 2 * time.Second
)

// errInterrupted is the one sentence for SIGINT, SIGTERM or SIGHUP while the
// note is being edited.
var errInterrupted = errors.New("note not written: interrupted")

// editBody runs $VISUAL or $EDITOR (default vi) on an empty file in a
// private memory-backed directory and returns what the editor left in it.
// The file is wiped and removed before editBody returns, whatever happens.
// SIGINT, SIGTERM and SIGHUP abort: the editor is stopped and waited for, the
// file is wiped, and the error is errInterrupted.
func editBody(ctx context.Context, e *env) (body []byte, err error) {
	// run() already turns SIGINT and SIGTERM into a cancelled ctx. A hang-up
	// of the terminal would otherwise kill notevault outright and leave the
	// file behind; here it cancels too. Under nohup it stays ignored.
	if !signal.Ignored(syscall.SIGHUP) {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGHUP)
		defer stop()
	}
	root, err := editRoot(e.getenv, shmDir, os.Getuid())
	if err != nil {
		return nil, err
	}
	s, err := openEditSession(ctx, root, e.stderr)
	if err != nil {
		return nil, err
	}
	defer s.remove(e.stderr)
	if err := runEditor(ctx, editorCommand(e.getenv), s.path, e); err != nil {
		return nil, err
	}
	body, err = readEditFile(s.path)
	if err != nil {
		return nil, err
	}
	// Read, then remove, before anything else happens.
	s.remove(e.stderr)
	if ctx.Err() != nil {
		clear(body)
		return nil, errInterrupted
	}
	return body, nil
}

// editorCommand is $VISUAL, else $EDITOR, else vi.
func editorCommand(getenv func(string) string) string {
	for _, k := range []string{"VISUAL", "EDITOR"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return "vi"
}

// editRoot returns the private directory that holds the editor's files,
// creating it: notevault-edit under $XDG_RUNTIME_DIR when that is set to an
// existing directory, else notevault-edit-UID under shm. It never falls back
// to a disk-backed temporary directory.
func editRoot(getenv func(string) string, shm string, uid int) (string, error) {
	return memoryDir(getenv, shm, uid, editDirName)
}

// memoryDir returns the private directory name under $XDG_RUNTIME_DIR, else
// name-UID under shm, creating it and checking that it is private.
func memoryDir(getenv func(string) string, shm string, uid int, name string) (string, error) {
	dir := memoryPath(getenv, shm, uid, name)
	if dir == "" {
		return "", withHint(fmt.Errorf("nowhere in memory to keep the note while you edit it (no $XDG_RUNTIME_DIR directory, no %s); refusing to put plaintext on disk", shm),
			"give the body with --file or on stdin")
	}
	if err := privateDir(dir, uid); err != nil {
		return "", err
	}
	return dir, nil
}

// memoryPath is the directory memoryDir makes, without making it: "" when
// there is neither an absolute $XDG_RUNTIME_DIR directory nor shm.
func memoryPath(getenv func(string) string, shm string, uid int, name string) string {
	if x := getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(x) && isDir(x) {
		return filepath.Join(x, name)
	}
	if isDir(shm) {
		return filepath.Join(shm, name+"-"+strconv.Itoa(uid))
	}
	return ""
}

func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// privateDir makes dir with mode 0700 unless it exists, then insists that it
// is a real directory (not a symbolic link), owned by uid, with mode 0700.
// Someone who made it first, or made it wider, could read the note.
func privateDir(dir string, uid int) error {
	err := os.Mkdir(dir, 0o700)
	if err == nil {
		// The umask may have narrowed 0700 so far that the editor could not
		// write; nobody can have swapped the directory since (it is ours in a
		// sticky or private parent), so set the mode exactly.
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("creating the editor directory: %w", err)
		}
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("creating the editor directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the editor directory: %w", err)
	}
	hint := "give the body with --file or on stdin"
	switch owner, ok := fileOwner(fi); {
	case fi.Mode()&fs.ModeSymlink != 0:
		return withHint(fmt.Errorf("the editor directory %s is a symbolic link; refusing to use it", dir),
			"someone may have planted it: remove it, or %s", hint)
	case !fi.IsDir():
		return withHint(fmt.Errorf("the editor directory %s is not a directory; refusing to use it", dir),
			"remove it, or %s", hint)
	case !ok || owner != uid:
		return withHint(fmt.Errorf("the editor directory %s belongs to uid %d, not to you (uid %d); refusing to use it", dir, owner, uid),
			"someone else made it; %s", hint)
	case fi.Mode().Perm() != 0o700:
		return withHint(fmt.Errorf("the editor directory %s has mode %04o, not 0700; refusing to use it", dir, fi.Mode().Perm()),
			"if it is yours, chmod 700 %s; or %s", dir, hint)
	}
	return nil
}

// fileOwner is the uid that owns fi.
func fileOwner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, false
	}
	return int(st.Uid), true
}

// editSession is one run's subdirectory and the lock that marks it alive.
type editSession struct {
	dir     string   // root/PID-RANDOM
	path    string   // dir/note.txt
	lock    *os.File // dir, flock'ed; closing it releases the lock
	removed bool
}

// openEditSession wipes what dead runs left in root, then makes this run's
// subdirectory, locks it and creates the empty note file. The root itself is
// locked meanwhile, so that no other run can take a subdirectory for stale
// in the moment between its mkdir and its flock.
func openEditSession(ctx context.Context, root string, warn io.Writer) (s *editSession, err error) {
	rl, err := os.OpenFile(root, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the editor directory: %w", err)
	}
	defer rl.Close() // releases the root lock
	if err := flockWait(ctx, rl); err != nil {
		return nil, err
	}
	sweepStale(root, warn)

	dir, err := os.MkdirTemp(root, strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, fmt.Errorf("creating the editor directory: %w", err)
	}
	s = &editSession{dir: dir, path: filepath.Join(dir, editFileName)}
	defer func() {
		if err != nil {
			s.remove(warn)
		}
	}()
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the editor directory: %w", err)
	}
	if s.lock, err = os.Open(dir); err != nil {
		return nil, fmt.Errorf("locking the editor directory: %w", err)
	}
	if err := syscall.Flock(int(s.lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil, fmt.Errorf("locking the editor directory: %w", err)
	}
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the note file for the editor: %w", err)
	}
	// As for the directory: the umask must not leave the editor unable to write.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("creating the note file for the editor: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("creating the note file for the editor: %w", err)
	}
	return s, nil
}

// remove wipes the session's files and removes its directory, then releases
// its lock; if the plaintext could not be removed it says so on warn. Only
// the first call does anything.
func (s *editSession) remove(warn io.Writer) {
	if s.removed {
		return
	}
	s.removed = true
	if err := wipeTree(s.dir); err != nil {
		fmt.Fprintf(warn, "notevault: warning: could not remove the editor's files in %s: %v\n", s.dir, err)
	}
	if s.lock != nil {
		s.lock.Close()
	}
}

// flockWait takes an exclusive flock on f, polling so that a signal can
// still interrupt the wait. Other runs hold the root lock for milliseconds.
func flockWait(ctx context.Context, f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("locking the editor directory: %w", err)
		}
		select {
		case <-ctx.Done():
			return errInterrupted
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// sweepStale wipes everything in root that no live run holds: the
// subdirectories of runs that were killed (their flock died with them), and
// anything else, which notevault never puts there. The caller holds the
// root lock. Failures are warnings: they must not stop this run's editor.
func sweepStale(root string, warn io.Writer) {
	ents, err := os.ReadDir(root)
	if err != nil {
		fmt.Fprintf(warn, "notevault: warning: could not look for files left by an earlier editor run in %s: %v\n", root, err)
		return
	}
	for _, ent := range ents {
		p := filepath.Join(root, ent.Name())
		if ent.IsDir() {
			d, err := os.OpenFile(p, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
			if err != nil {
				continue // gone meanwhile, or replaced by a non-directory: next run
			}
			err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
			if err != nil {
				d.Close() // held by a running notevault
				continue
			}
			err = wipeTree(p)
			d.Close()
			if err != nil {
				fmt.Fprintf(warn, "notevault: warning: could not remove files left by an earlier editor run in %s: %v\n", p, err)
			}
			continue
		}
		if err := wipeTree(p); err != nil {
			fmt.Fprintf(warn, "notevault: warning: could not remove %s: %v\n", p, err)
		}
	}
}

// wipeTree overwrites every regular file under path with zeros, then
// removes path and all it holds. Symbolic links are removed, not followed.
//
// On tmpfs the overwrite is mostly symbolic: it zeroes the pages the file has
// now, but pages the text occupied earlier (an editor that saves by writing a
// new file and renaming it over the old one, a swap file it deleted itself,
// memory swapped out to a swap device) were freed or copied without being
// cleared. It shortens the life of the plaintext; it does not guarantee it is
// gone. Unlinking is what matters: after it no one can open the file.
func wipeTree(path string) error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil && !errors.Is(err, fs.ErrNotExist) {
			first = err
		}
	}
	keep(filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			keep(err)
			return nil
		}
		if d.Type().IsRegular() {
			keep(zeroFile(p))
		}
		return nil
	}))
	keep(os.RemoveAll(path))
	return first
}

// zeroFile overwrites the regular file at p with zeros, in place.
func zeroFile(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrPermission) {
		// An editor may save read-only; the file is ours, in our directory.
		if os.Chmod(p, 0o600) == nil {
			f, err = os.OpenFile(p, os.O_WRONLY|syscall.O_NOFOLLOW, 0)
		}
	}
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() {
		zeros := make([]byte, 32<<10)
		for n := fi.Size(); n > 0 && err == nil; n -= int64(len(zeros)) {
			_, err = f.Write(zeros[:min(n, int64(len(zeros)))])
		}
		if err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// runEditor runs editor (a shell command line, like git's core.editor) on
// path with the terminal, and waits for it.
//
// When ctx is cancelled by a signal, the editor must not live on without
// notevault, holding the terminal and a file that is about to be wiped. A
// Ctrl-C or hang-up from the terminal reaches the editor by itself, since it
// stays in notevault's process group (a vi in raw mode reads Ctrl-C as a key
// instead). A kill aimed at notevault's pid alone does not, so the editor is
// sent SIGTERM (and SIGCONT, in case it was stopped), which lets it restore
// the terminal; if it is still running editorGrace later, it is killed. The
// command line starts with exec so that the signalled process is the editor,
// not a shell that would die and leave the editor orphaned. On Linux the
// editor also gets SIGTERM if notevault dies without a chance to act
// (kill -9); see editorSysProcAttr.
func runEditor(ctx context.Context, editor, path string, e *env) error {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", "exec "+editor+` "$1"`, "sh", path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = e.stdin, e.stderr, e.stderr
	cmd.SysProcAttr = editorSysProcAttr()
	cmd.Cancel = func() error {
		err := cmd.Process.Signal(syscall.SIGTERM)
		cmd.Process.Signal(syscall.SIGCONT)
		return err
	}
	cmd.WaitDelay = editorGrace
	// The parent-death signal follows the thread that started the child, not
	// the process: keep this goroutine on that thread until the editor exits.
	runtime.LockOSThread()
	err := cmd.Run()
	runtime.UnlockOSThread()
	if ctx.Err() != nil || killedByInterrupt(err) {
		return errInterrupted
	}
	if err != nil {
		return fmt.Errorf("note not written: the editor %q failed: %w", editor, err)
	}
	return nil
}

// killedByInterrupt reports whether err says the editor died of SIGINT,
// SIGTERM or SIGHUP: a Ctrl-C or hang-up that reached it before notevault
// saw its own copy.
func killedByInterrupt(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return false
	}
	switch ws.Signal() {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP:
		return true
	}
	return false
}

// readEditFile reads what the editor saved at path, which must still be a
// regular file (editors may have replaced it by renaming a new one over it).
func readEditFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, fmt.Errorf("note not written: reading what the editor saved: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("note not written: the editor left %s as something other than a regular file", path)
	}
	// One buffer of the right size: growing one would leave copies of the
	// text in memory that clear cannot reach.
	b := make([]byte, fi.Size())
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		clear(b)
		return nil, fmt.Errorf("note not written: reading what the editor saved: %w", err)
	}
	return b[:n], nil
}

// keepText keeps body, the text of a note that could not be written after
// the editor closed, in a new 0600 file in the private kept directory, and
// returns its path.
func keepText(body []byte, e *env) (path string, err error) {
	dir, err := memoryDir(e.getenv, shmDir, os.Getuid(), keptDirName)
	if err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "note-"+e.now().UTC().Format("20060102T150405Z")+"-*.txt")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			wipeTree(f.Name())
		}
	}()
	// CreateTemp makes it 0600 less the umask; the owner must keep access.
	if err := f.Chmod(0o600); err != nil {
		return "", err
	}
	if _, err := f.Write(body); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// isKeptFile reports whether path is a file keepText made: a note-*.txt in
// the kept directory.
func isKeptFile(path string, e *env) bool {
	if path == "" || path == stdioName {
		return false
	}
	dir := memoryPath(e.getenv, shmDir, os.Getuid(), keptDirName)
	abs, err := filepath.Abs(path)
	if dir == "" || err != nil {
		return false
	}
	base := filepath.Base(abs)
	return filepath.Dir(abs) == dir && strings.HasPrefix(base, "note-") && strings.HasSuffix(base, ".txt")
}
