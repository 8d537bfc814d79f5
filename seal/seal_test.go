package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRoundTripAndBinding(t *testing.T) {
	t.Parallel()
	b, err := New(key(t))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte(`{"key_p8":"-----BEGIN PRIVATE KEY-----"}`)
	sealed, err := b.Seal(secret, []byte("app-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret[:10]) {
		t.Fatal("sealed value contains plaintext")
	}
	got, err := b.Open(sealed, []byte("app-1"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := b.Open(sealed, []byte("app-2")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with other ad: %v, want ErrOpen", err)
	}
	other, _ := New(key(t))
	if _, err := other.Open(sealed, []byte("app-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open with other key: %v, want ErrOpen", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b.Open(sealed, []byte("app-1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of tampered value: %v, want ErrOpen", err)
	}
	if _, err := b.Open([]byte{1, 2}, nil); !errors.Is(err, ErrOpen) {
		t.Fatalf("Open of short value: %v, want ErrOpen", err)
	}
	s2, _ := b.Seal(secret, []byte("app-1"))
	if bytes.Equal(s2[1:13], sealed[1:13]) {
		t.Fatal("nonce reused")
	}
}

func TestKeyLength(t *testing.T) {
	t.Parallel()
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
