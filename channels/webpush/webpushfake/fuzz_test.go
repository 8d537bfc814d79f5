package webpushfake

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"
)

// FuzzDecrypt feeds arbitrary bodies to the browser-side decryption: it must
// refuse them without panicking, and never "decrypt" one (a forgery would need
// the keys).
func FuzzDecrypt(f *testing.F) {
	body, _ := base64.RawURLEncoding.DecodeString(rfc8291.body)
	f.Add(body)
	f.Add(body[:headerLen])
	f.Add([]byte{})
	priv, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	f.Fuzz(func(t *testing.T, b []byte) {
		if p, err := decrypt(b, priv, auth); err == nil {
			t.Fatalf("decrypted %q with random keys", p)
		}
	})
}

// FuzzVAPID feeds arbitrary Authorization headers to the VAPID checks: they
// must answer without panicking.
func FuzzVAPID(f *testing.F) {
	k := newVAPID(f)
	f.Add("vapid t=" + signJWT(f, k, map[string]any{"aud": "https://127.0.0.1:1", "exp": time.Now().Add(time.Hour).Unix(), "sub": "mailto:a@b.c"}) + ", k=" + k.pub)
	f.Add("vapid t=a.b.c, k=" + k.pub)
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		token, key, err := parseAuthorization(h)
		if err != nil {
			return
		}
		_ = verifyJWT(token, key, "https://127.0.0.1:1", time.Now())
	})
}
