package main

import (
	"path/filepath"
	"testing"
	"time"
)

// The serial console hands a guest's line over in pieces: a wait for the
// command's "ID rc=" must not end before the digits and the newline (it once
// read "b2 rc=" as an empty exit code and failed a passing run).
func TestWaitLineWaitsForTheWholeLine(t *testing.T) {
	c := newConsole(filepath.Join(t.TempDir(), "console"))
	defer c.file.Close()
	const prefix = "EMBER-TEST: b2 rc="
	c.Write([]byte("EMBER-TEST: b1 rc=0\r\n" + prefix))
	if c.hasLine(prefix) {
		t.Fatalf("a line without its end counts as complete")
	}
	done := make(chan struct{})
	go func() {
		c.waitFor(nil, prefix, func() bool { return c.hasLine(prefix) })
		close(done)
	}()
	select {
	case <-done:
		t.Fatalf("waitFor returned on a partial line")
	case <-time.After(100 * time.Millisecond):
	}
	c.Write([]byte("0\r\n"))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("waitFor did not see the completed line")
	}
}
