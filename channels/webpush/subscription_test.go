package webpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// testKeys returns a browser's p256dh and auth, raw base64url.
func testKeys(t testing.TB) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 16)
	_, _ = rand.Read(a)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(a)
}

func TestParseSubscription(t *testing.T) {
	t.Parallel()
	p, a := testKeys(t)
	pBytes, aBytes := mustDecode(t, p), mustDecode(t, a)
	endpoint := "https://fcm.googleapis.com/fcm/send/abc:APA91b?x=1&y=2"
	canonical := `{"endpoint":"` + endpoint + `","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`
	valid := []string{
		canonical,
		// as PushSubscription.toJSON() gives it, with padding
		`{"endpoint":"` + endpoint + `","expirationTime":null,"keys":{"auth":"` + base64.URLEncoding.EncodeToString(aBytes) + `","p256dh":"` + base64.URLEncoding.EncodeToString(pBytes) + `"}}`,
		// standard base64
		` {"endpoint":"` + endpoint + `","keys":{"p256dh":"` + base64.StdEncoding.EncodeToString(pBytes) + `","auth":"` + base64.StdEncoding.EncodeToString(aBytes) + `"}} `,
	}
	for _, tok := range valid {
		sub, err := ParseSubscription(tok)
		if err != nil {
			t.Fatalf("%s: %v", tok, err)
		}
		if got := sub.Token(); got != canonical {
			t.Errorf("canonical form\n got %s\nwant %s", got, canonical)
		}
	}

	otherCurve := base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...))
	invalid := map[string]string{
		"not JSON":            `endpoint`,
		"trailing data":       canonical + `}`,
		"two objects":         canonical + canonical,
		"relative endpoint":   `{"endpoint":"/push/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`,
		"ftp endpoint":        `{"endpoint":"ftp://x/y","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`,
		"long endpoint":       `{"endpoint":"https://x/` + strings.Repeat("a", 2100) + `","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`,
		"missing p256dh":      `{"endpoint":"` + endpoint + `","keys":{"auth":"` + a + `"}}`,
		"p256dh not on curve": `{"endpoint":"` + endpoint + `","keys":{"p256dh":"` + otherCurve + `","auth":"` + a + `"}}`,
		"compressed p256dh":   `{"endpoint":"` + endpoint + `","keys":{"p256dh":"` + base64.RawURLEncoding.EncodeToString(append([]byte{2}, pBytes[1:33]...)) + `","auth":"` + a + `"}}`,
		"short auth":          `{"endpoint":"` + endpoint + `","keys":{"p256dh":"` + p + `","auth":"AAAA"}}`,
		"keys not object":     `{"endpoint":"` + endpoint + `","keys":"x"}`,
	}
	for name, tok := range invalid {
		_, err := ParseSubscription(tok)
		if !errors.Is(err, ErrInvalidSubscription) {
			t.Errorf("%s: error %v, want ErrInvalidSubscription", name, err)
			continue
		}
		if strings.Contains(err.Error(), a) || strings.Contains(err.Error(), "APA91b") {
			t.Errorf("%s: the error quotes a secret: %v", name, err)
		}
	}
}

func FuzzParseSubscription(f *testing.F) {
	p, a := testKeys(f)
	f.Add(`{"endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":"` + p + `","auth":"` + a + `"}}`)
	f.Add(`{"endpoint":"http://127.0.0.1:1/push/x","keys":{"p256dh":"","auth":""}}`)
	f.Add(`{}`)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, tok string) {
		sub, err := ParseSubscription(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidSubscription) {
				t.Fatalf("error %v does not wrap ErrInvalidSubscription", err)
			}
			return
		}
		// a parsed subscription round-trips through its canonical form
		again, err := ParseSubscription(sub.Token())
		if err != nil || again != sub {
			t.Fatalf("canonical form %s does not round-trip: %v", sub.Token(), err)
		}
	})
}
