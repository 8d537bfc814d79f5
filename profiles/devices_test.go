package profiles

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// webKeys is a browser's subscription key pair: a real P-256 public key and a
// 16-byte auth secret, both raw base64url as browsers send them.
type webKeys struct {
	P256dh, Auth string
	raw          []byte // the uncompressed public point
}

func newWebKeys(t testing.TB) webKeys {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	pub := k.PublicKey().Bytes()
	return webKeys{P256dh: base64.RawURLEncoding.EncodeToString(pub), Auth: base64.RawURLEncoding.EncodeToString(auth), raw: pub}
}

const fcmEndpoint = "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91bH-test_token"

// subJSON writes a PushSubscription the way PushSubscription.toJSON() does.
func subJSON(endpoint, p256dh, auth string) string {
	return fmt.Sprintf(`{"endpoint":%q,"expirationTime":null,"keys":{"p256dh":%q,"auth":%q}}`, endpoint, p256dh, auth)
}

func TestParseWebSubscription(t *testing.T) {
	t.Parallel()
	k := newWebKeys(t)
	sub, err := ParseWebSubscription(subJSON(fcmEndpoint, k.P256dh, k.Auth))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Endpoint != fcmEndpoint || sub.Keys.P256dh != k.P256dh || sub.Keys.Auth != k.Auth {
		t.Errorf("parsed %+v", sub)
	}
	// plain http only for a push service on this machine (tests, herald dev)
	for _, endpoint := range []string{"http://localhost:8080/push/1", "http://127.0.0.1:9000/p", "http://[::1]/p", "HTTP://localhost/p"} {
		if _, err := ParseWebSubscription(subJSON(endpoint, k.P256dh, k.Auth)); err != nil {
			t.Errorf("%s: %v", endpoint, err)
		}
	}
}

func TestParseWebSubscriptionRejects(t *testing.T) {
	t.Parallel()
	k := newWebKeys(t)
	offCurve := make([]byte, 65)
	offCurve[0] = 4 // the point (0, 0) is not on P-256
	compressed := append([]byte{2}, k.raw[1:33]...)
	b64 := base64.RawURLEncoding.EncodeToString
	cases := []struct {
		name, token, want string
	}{
		{"not JSON", "fcm-token-abc", "PushSubscription JSON"},
		{"JSON array", `[]`, "PushSubscription JSON"},
		{"JSON string", `"https://push.example"`, "PushSubscription JSON"},
		{"keys a string", `{"endpoint":"https://push.example/x","keys":"k"}`, "PushSubscription JSON"},
		{"null", `null`, "endpoint"},
		{"empty object", `{}`, "endpoint"},
		{"no endpoint", subJSON("", k.P256dh, k.Auth), "endpoint"},
		{"relative endpoint", subJSON("/push/123", k.P256dh, k.Auth), "endpoint"},
		{"no host", subJSON("https:///push", k.P256dh, k.Auth), "endpoint"},
		{"ftp endpoint", subJSON("ftp://push.example/x", k.P256dh, k.Auth), "endpoint"},
		{"http endpoint", subJSON("http://push.example/x", k.P256dh, k.Auth), "endpoint"},
		{"http endpoint posing as loopback", subJSON("http://localhost.push.example/x", k.P256dh, k.Auth), "endpoint"},
		{"http endpoint at a private address", subJSON("http://10.0.0.1/x", k.P256dh, k.Auth), "endpoint"},
		{"javascript endpoint", subJSON("javascript:alert(1)", k.P256dh, k.Auth), "endpoint"},
		{"endpoint with a space in the host", subJSON("https://push example/x", k.P256dh, k.Auth), "endpoint"},
		{"no p256dh", subJSON(fcmEndpoint, "", k.Auth), "p256dh"},
		{"p256dh not base64", subJSON(fcmEndpoint, "not*base64!", k.Auth), "p256dh"},
		{"p256dh compressed point", subJSON(fcmEndpoint, b64(compressed), k.Auth), "p256dh"},
		{"p256dh 64 bytes", subJSON(fcmEndpoint, b64(k.raw[1:]), k.Auth), "p256dh"},
		{"p256dh wrong prefix", subJSON(fcmEndpoint, b64(append([]byte{5}, k.raw[1:]...)), k.Auth), "p256dh"},
		{"p256dh not on the curve", subJSON(fcmEndpoint, b64(offCurve), k.Auth), "p256dh"},
		{"no auth", subJSON(fcmEndpoint, k.P256dh, ""), "auth"},
		{"auth 15 bytes", subJSON(fcmEndpoint, k.P256dh, b64(make([]byte, 15))), "auth"},
		{"auth 32 bytes", subJSON(fcmEndpoint, k.P256dh, b64(make([]byte, 32))), "auth"},
		{"auth not base64", subJSON(fcmEndpoint, k.P256dh, "@@@@@@@@@@@@@@@@@@@@@@"), "auth"},
		{"trailing data", subJSON(fcmEndpoint, k.P256dh, k.Auth) + "x", "PushSubscription JSON"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub, err := ParseWebSubscription(tc.token)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseWebSubscription = %+v, %v; want an error about %q", sub, err, tc.want)
			}
			if _, _, err := NormalizeToken(PlatformWeb, tc.token); err == nil {
				t.Error("NormalizeToken accepted it")
			}
		})
	}
}

func TestNormalizeWebToken(t *testing.T) {
	t.Parallel()
	k := newWebKeys(t)
	forms := []string{
		subJSON(fcmEndpoint, k.P256dh, k.Auth),
		fmt.Sprintf(`{"keys":{"auth":%q,"p256dh":%q},"endpoint":%q}`, k.Auth, k.P256dh, fcmEndpoint),
		fmt.Sprintf("{\n  \"keys\": {\"p256dh\": %q, \"auth\": %q},\n  \"expirationTime\": 1735689600000,\n  \"endpoint\": %q\n}", k.P256dh, k.Auth, fcmEndpoint),
		fmt.Sprintf(`{"endpoint":%q,"keys":{"auth":%q,"p256dh":%q}}`, fcmEndpoint, k.Auth, k.P256dh),
	}
	want := fmt.Sprintf(`{"endpoint":%q,"keys":{"p256dh":%q,"auth":%q}}`, fcmEndpoint, k.P256dh, k.Auth)
	for i, f := range forms {
		stored, key, err := NormalizeToken(PlatformWeb, f)
		if err != nil {
			t.Errorf("form %d: %v", i, err)
			continue
		}
		if stored != want {
			t.Errorf("form %d stored\n%s\nwant\n%s", i, stored, want)
		}
		if key != fcmEndpoint {
			t.Errorf("form %d key %q; want the endpoint", i, key)
		}
		// the stored form is itself a valid token that normalizes to itself
		again, key2, err := NormalizeToken(PlatformWeb, stored)
		if err != nil || again != stored || key2 != key {
			t.Errorf("form %d: normalizing the stored form gave %q, %q, %v", i, again, key2, err)
		}
	}
}

// The same keys in another base64 dialect (padding, the standard alphabet) are the
// same subscription; the stored canonical form must not depend on the dialect, or
// the sender has to guess it.
func TestNormalizeWebTokenKeyEncoding(t *testing.T) {
	t.Parallel()
	k := newWebKeys(t)
	auth, _ := base64.RawURLEncoding.DecodeString(k.Auth)
	want, _, err := NormalizeToken(PlatformWeb, subJSON(fcmEndpoint, k.P256dh, k.Auth))
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]*base64.Encoding{"padded base64url": base64.URLEncoding, "standard base64": base64.StdEncoding} {
		stored, _, err := NormalizeToken(PlatformWeb, subJSON(fcmEndpoint, enc.EncodeToString(k.raw), enc.EncodeToString(auth)))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if stored != want {
			t.Errorf("%s: stored\n%s\nwant the canonical\n%s", name, stored, want)
		}
	}
}

func TestNormalizeWebTokenEscapes(t *testing.T) {
	t.Parallel()
	k := newWebKeys(t)
	endpoint := "https://updates.push.services.mozilla.com/wpush/v2/gAAAA?x=1&y=<2>"
	stored, key, err := NormalizeToken(PlatformWeb, subJSON(endpoint, k.P256dh, k.Auth))
	if err != nil {
		t.Fatal(err)
	}
	if key != endpoint {
		t.Errorf("key %q; want %q", key, endpoint)
	}
	var back WebSubscription
	if err := json.Unmarshal([]byte(stored), &back); err != nil || back.Endpoint != endpoint {
		t.Errorf("stored %s does not read back: %+v, %v", stored, back, err)
	}
}

func TestNormalizeNativeToken(t *testing.T) {
	t.Parallel()
	hexToken := "AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56AB12CD34EF56ABCD"
	fcm := "dGVzdA:APA91bHun4MxP5egoKMwt2KZFBaFUH-1RYqx"
	cases := []struct {
		name, platform, token, want, err string
	}{
		{"iOS hex lower-cased", PlatformIOS, hexToken, strings.ToLower(hexToken), ""},
		{"iOS lower hex kept", PlatformIOS, strings.ToLower(hexToken), strings.ToLower(hexToken), ""},
		{"iOS trimmed", PlatformIOS, "  " + hexToken + "\n", strings.ToLower(hexToken), ""},
		{"iOS non-hex kept as is", PlatformIOS, "Token-XYZ", "Token-XYZ", ""},
		{"Android case kept", PlatformAndroid, fcm, fcm, ""},
		{"Android hex not lower-cased", PlatformAndroid, "ABCDEF", "ABCDEF", ""},
		{"longest", PlatformAndroid, strings.Repeat("a", 4096), strings.Repeat("a", 4096), ""},
		{"too long", PlatformAndroid, strings.Repeat("a", 4097), "", "1 to 4096"},
		{"empty", PlatformIOS, "", "", "1 to 4096"},
		{"blank", PlatformAndroid, " \t\n", "", "1 to 4096"},
		{"NUL", PlatformIOS, "abc\x00def", "", "invalid character"},
		{"inner space", PlatformAndroid, "abc def", "", "invalid character"},
		{"tab", PlatformAndroid, "abc\tdef", "", "invalid character"},
		{"newline", PlatformIOS, "abc\ndef", "", "invalid character"},
		{"DEL", PlatformAndroid, "abc\x7fdef", "", "invalid character"},
		{"escape", PlatformAndroid, "abc\x1b[0m", "", "invalid character"},
		{"non-ASCII", PlatformAndroid, "tökén", "", "invalid character"},
		{"invalid UTF-8", PlatformIOS, "ab\xffcd", "", "invalid character"},
		{"unknown platform", "windows", "abc", "", "unknown platform"},
		{"empty platform", "", "abc", "", "unknown platform"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stored, key, err := NormalizeToken(tc.platform, tc.token)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("NormalizeToken = %q, %v; want an error containing %q", stored, err, tc.err)
				}
				return
			}
			if err != nil || stored != tc.want || key != tc.want {
				t.Errorf("NormalizeToken = %q, %q, %v; want %q as both", stored, key, err, tc.want)
			}
		})
	}
}

// decodeB64URL accepts the base64 dialects browsers and libraries send.
func TestDecodeB64URL(t *testing.T) {
	t.Parallel()
	raw := []byte{0xfb, 0xff, 0x01, 0x02}
	for _, s := range []string{
		base64.RawURLEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
	} {
		if b, err := decodeB64URL(s); err != nil || !bytes.Equal(b, raw) {
			t.Errorf("decodeB64URL(%q) = %x, %v", s, b, err)
		}
	}
}
