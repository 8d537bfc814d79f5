package webpushfake

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"testing"
)

// rfc8291 is the example of RFC 8291 section 5 (appendix A gives the keys).
var rfc8291 = struct{ uaPrivate, auth, body, plaintext string }{
	uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
	auth:      "BTBZMqHH6r4Tts7J_aSIgg",
	body:      "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
	plaintext: "When I grow up, I want to be a watermelon",
}

func rfcInputs(t *testing.T) (*ecdh.PrivateKey, []byte, []byte) {
	t.Helper()
	d := func(s string) []byte {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	priv, err := ecdh.P256().NewPrivateKey(d(rfc8291.uaPrivate))
	if err != nil {
		t.Fatal(err)
	}
	return priv, d(rfc8291.auth), d(rfc8291.body)
}

func TestDecryptRFC8291Example(t *testing.T) {
	priv, auth, body := rfcInputs(t)
	got, err := decrypt(body, priv, auth)
	if err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if string(got) != rfc8291.plaintext {
		t.Fatalf("plaintext %q, want %q", got, rfc8291.plaintext)
	}
}

func TestDecryptRefuses(t *testing.T) {
	priv, auth, body := rfcInputs(t)
	other, _ := ecdh.P256().GenerateKey(nil)
	flip := func(i int) []byte {
		b := append([]byte(nil), body...)
		b[i] ^= 1
		return b
	}
	oneByte := append([]byte(nil), body...)
	binary.BigEndian.PutUint32(oneByte[16:20], 17)
	twoRecords := append([]byte(nil), body...)
	binary.BigEndian.PutUint32(twoRecords[16:20], 30)
	cases := []struct {
		name string
		body []byte
		priv *ecdh.PrivateKey
		auth []byte
		want string
	}{
		{"short", body[:50], priv, auth, "shorter than the aes128gcm header"},
		{"ciphertext flipped", flip(len(body) - 1), priv, auth, "authentication failed"},
		{"salt flipped", flip(0), priv, auth, "authentication failed"},
		{"wrong auth", body, priv, make([]byte, 16), "authentication failed"},
		{"wrong key", body, other, auth, "authentication failed"},
		{"key id length", func() []byte { b := append([]byte(nil), body...); b[20] = 64; return b }(), priv, auth, "key id of 64 bytes"},
		{"rs under 18", oneByte, priv, auth, "record size 17"},
		{"more than one record", twoRecords, priv, auth, "a push message is one record"},
		{"tag only", body[:headerLen+10], priv, auth, "shorter than its tag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decrypt(c.body, c.priv, c.auth)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want it to say %q", err, c.want)
			}
		})
	}
}
