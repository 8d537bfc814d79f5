package webpush

import (
	"crypto/ecdh"
	"encoding/base64"
	"strings"
	"testing"
)

func TestGenerateVAPIDKeys(t *testing.T) {
	t.Parallel()
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := base64.RawURLEncoding.DecodeString(pub)
	if err != nil || len(p) != 65 || p[0] != 4 {
		t.Fatalf("public key %q: %d bytes, %v", pub, len(p), err)
	}
	k, err := base64.RawURLEncoding.DecodeString(priv)
	if err != nil || len(k) != 32 {
		t.Fatalf("private key: %d bytes, %v", len(k), err)
	}
	key, err := ecdh.P256().NewPrivateKey(k)
	if err != nil || string(key.PublicKey().Bytes()) != string(p) {
		t.Fatalf("the public key is not the private key's (%v)", err)
	}
	if err := (Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "ops@example.com"}).Validate(); err != nil {
		t.Fatalf("generated keys do not validate: %v", err)
	}
	pub2, _, _ := GenerateVAPIDKeys()
	if pub2 == pub {
		t.Fatal("two key pairs are the same")
	}
}

func TestCredentialsValidate(t *testing.T) {
	t.Parallel()
	pub, priv, _ := GenerateVAPIDKeys()
	otherPub, _, _ := GenerateVAPIDKeys()
	padded := base64.URLEncoding.EncodeToString(mustDecode(t, pub))
	cases := []struct {
		name        string
		creds       Credentials
		wantErr     string // empty: valid
		wantSubject string
	}{
		{"bare address", Credentials{pub, priv, "ops@example.com"}, "", "ops@example.com"},
		{"mailto address loses its prefix (webpush-go adds it)", Credentials{pub, priv, "mailto:ops@example.com"}, "", "ops@example.com"},
		{"MAILTO upper case", Credentials{pub, priv, "MAILTO:ops@example.com"}, "", "ops@example.com"},
		{"https URL", Credentials{pub, priv, "https://example.com/contact"}, "", "https://example.com/contact"},
		{"padded key", Credentials{padded, priv, "ops@example.com"}, "", "ops@example.com"},
		{"http URL", Credentials{pub, priv, "http://example.com"}, "must be an e-mail address or an https URL", ""},
		{"empty subject", Credentials{pub, priv, ""}, "subject is required", ""},
		{"named address", Credentials{pub, priv, "Ops <ops@example.com>"}, "must be an e-mail address", ""},
		{"not an address", Credentials{pub, priv, "ops"}, "must be an e-mail address", ""},
		{"public key not a point", Credentials{"AAAA", priv, "ops@example.com"}, "public key must be", ""},
		{"private key garbage", Credentials{pub, "!!", "ops@example.com"}, "private key must be", ""},
		{"mismatched pair", Credentials{otherPub, priv, "ops@example.com"}, "does not belong", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.creds.normalize()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got.Subject != c.wantSubject || got.VAPIDPublicKey != pub || got.VAPIDPrivateKey != priv {
					t.Fatalf("normalized to %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), priv) {
				t.Fatal("the error quotes the private key")
			}
		})
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
