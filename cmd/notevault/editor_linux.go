package main

import "syscall"

// editorSysProcAttr asks the kernel to send the editor SIGTERM if notevault
// dies before it (kill -9 cannot be caught), so that it does not stay on the
// terminal with nobody to read what it saves. The next run wipes the file.
func editorSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
