package vault

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

// fanOut gives every writer every byte, in order, and fails a Write when any
// writer fails or writes short, as io.MultiWriter does.
func TestFanOutAsMultiWriter(t *testing.T) {
	var a, b, c bytes.Buffer
	out := fanOut{&a, &b, &c}
	want := bytes.Repeat([]byte("0123456789"), 100_000)
	if _, err := io.CopyBuffer(out, bytes.NewReader(want), make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	for i, got := range []*bytes.Buffer{&a, &b, &c} {
		if !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("writer %d got %d bytes, not the stream", i, got.Len())
		}
	}
	if _, err := (fanOut{&a, &failingWriter{after: 10}}).Write(make([]byte, 20)); err == nil || err.Error() != "disk full" {
		t.Fatalf("a failing writer: %v", err)
	}
	if _, err := (fanOut{shortWriter{}, &a}).Write(make([]byte, 20)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("a short writer: %v", err)
	}
}
