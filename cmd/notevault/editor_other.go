//go:build !linux

package main

import "syscall"

// editorSysProcAttr has no parent-death signal to ask for outside Linux: an
// editor whose notevault is killed with kill -9 runs on until it is closed.
func editorSysProcAttr() *syscall.SysProcAttr { return nil }
