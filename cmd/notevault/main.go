// Command notevault is the command line of notevault, an encrypted vault for
// the notes of mentoring relationships. See `notevault help`.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
