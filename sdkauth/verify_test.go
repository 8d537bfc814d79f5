package sdkauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var now = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

const secret = "0123456789abcdef0123456789abcdef-hs256"

type rsaKeys struct {
	priv, other *rsa.PrivateKey
	pubPEM      []byte
}

var rsaOnce = sync.OnceValues(func() (*rsaKeys, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &rsaKeys{priv: priv, other: other, pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
})

func keysT(t testing.TB) *rsaKeys {
	t.Helper()
	k, err := rsaOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims are valid at now unless a case changes them.
func claims(sub string) jwt.MapClaims {
	return jwt.MapClaims{"sub": sub, "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// raw builds a token from JSON header and claims and a signature, unchecked.
func raw(header, body, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(body)) + "." + sig
}

func TestVerify(t *testing.T) {
	t.Parallel()
	k := keysT(t)
	hs, err := NewHS256([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := NewRS256(k.pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	hsSign := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodHS256, []byte(secret), c) }
	rsSign := func(c jwt.MapClaims) string { return sign(t, jwt.SigningMethodRS256, k.priv, c) }
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("u1"))
	valid := hsSign(claims("u1"))
	parts := strings.Split(valid, ".")

	cases := []struct {
		name  string
		v     *Verifier
		token string
		want  error  // nil: valid for u1
		msg   string // a substring of the message
	}{
		{"hs256 valid", hs, valid, nil, ""},
		{"rs256 valid", rs, rsSign(claims("u1")), nil, ""},
		{"hs256 without iat", hs, hsSign(with(claims("u1"), "iat", nil)), nil, ""},
		{"expired", hs, hsSign(with(claims("u1"), "exp", now.Add(-2*time.Minute).Unix())), ErrExpired, "expired at 2026-11-30T11:58:00Z"},
		{"expired within leeway", hs, hsSign(with(claims("u1"), "exp", now.Add(-30*time.Second).Unix())), nil, ""},
		{"not yet valid", hs, hsSign(with(claims("u1"), "nbf", now.Add(5*time.Minute).Unix())), ErrNotYetValid, "nbf is 2026-11-30T12:05:00Z"},
		{"nbf within leeway", hs, hsSign(with(claims("u1"), "nbf", now.Add(30*time.Second).Unix())), nil, ""},
		{"issued in the future", hs, hsSign(with(claims("u1"), "iat", now.Add(10*time.Minute).Unix())), ErrNotYetValid, "iat"},
		{"no exp", hs, hsSign(with(claims("u1"), "exp", nil)), ErrInvalidClaims, "exp is required"},
		{"lifetime over 24h", hs, hsSign(with(claims("u1"), "exp", now.Add(24*time.Hour).Unix())), ErrInvalidClaims, "at most 24h0m0s"},
		{"lifetime over 24h without iat", hs, hsSign(with(claims("u1"), "iat", nil, "exp", now.Add(25*time.Hour).Unix())), ErrInvalidClaims, "after now"},
		{"no sub", hs, hsSign(with(claims("u1"), "sub", nil)), ErrInvalidClaims, "sub"},
		{"numeric sub", hs, hsSign(with(claims("u1"), "sub", 42)), ErrMalformed, "claims"},
		{"string exp", hs, hsSign(with(claims("u1"), "exp", "tomorrow")), ErrMalformed, "claims"},
		{"bad signature", hs, sign(t, jwt.SigningMethodHS256, []byte(secret+"x"), claims("u1")), ErrBadSignature, "HS256"},
		{"rs256 other key", rs, sign(t, jwt.SigningMethodRS256, k.other, claims("u1")), ErrBadSignature, "RS256"},
		{"tampered claims", hs, parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"u2","exp":`+strconv.FormatInt(now.Add(time.Hour).Unix(), 10)+`}`)) + "." + parts[2], ErrBadSignature, ""},
		{"alg none", hs, none, ErrWrongAlgorithm, `"none"`},
		{"alg none on rs256", rs, none, ErrWrongAlgorithm, "RS256 only"},
		{"alg none unsigned, no dot", hs, strings.TrimSuffix(none, "."), ErrMalformed, "three"},
		{"hs256 token on rs256 app", rs, valid, ErrWrongAlgorithm, "this app accepts RS256 only"},
		{"rs256 token on hs256 app", hs, rsSign(claims("u1")), ErrWrongAlgorithm, "this app accepts HS256 only"},
		// the classic confusion: the RS256 public key used as an HMAC secret
		{"public key as hmac secret", rs, sign(t, jwt.SigningMethodHS256, k.pubPEM, claims("u1")), ErrWrongAlgorithm, "HS256"},
		{"hs512", hs, sign(t, jwt.SigningMethodHS512, []byte(secret), claims("u1")), ErrWrongAlgorithm, "HS512"},
		{"unknown alg", hs, raw(`{"alg":"XX999"}`, `{"sub":"u1"}`, "c2ln"), ErrWrongAlgorithm, "missing or unsupported"},
		{"alg missing", hs, raw(`{"typ":"JWT"}`, `{"sub":"u1"}`, "c2ln"), ErrWrongAlgorithm, "missing or unsupported"},
		{"alg not a string", hs, raw(`{"alg":256}`, `{"sub":"u1"}`, "c2ln"), ErrWrongAlgorithm, ""},
		{"crit header", hs, sign(t, jwt.SigningMethodHS256, []byte(secret), claims("u1")) /* replaced below */, nil, ""},
		{"empty", hs, "", ErrMalformed, "empty"},
		{"garbage", hs, "not a token", ErrMalformed, "three"},
		{"header not json", hs, "e30x.e30.c2ln", ErrMalformed, "header"},
		{"padded base64", hs, parts[0] + "=." + parts[1] + "." + parts[2], ErrMalformed, ""},
		{"too long", hs, strings.Repeat("a", MaxTokenBytes+1), ErrMalformed, "longer"},
	}
	for _, c := range cases {
		if c.name == "crit header" {
			tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("u1"))
			tok.Header["crit"] = []string{"exp"}
			s, err := tok.SignedString([]byte(secret))
			if err != nil {
				t.Fatal(err)
			}
			c.token, c.want, c.msg = s, ErrMalformed, "crit"
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.v.Verify(c.token, now)
			if c.want == nil {
				if err != nil || got.Subject != "u1" {
					t.Fatalf("Verify = %+v, %v; want u1", got, err)
				}
				return
			}
			if !errors.Is(err, c.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, c.want)
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not an *Error", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("message %q does not say %q", err, c.msg)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "PUBLIC KEY") {
				t.Errorf("message %q leaks the key", err)
			}
		})
	}
}

func TestVerifyClaims(t *testing.T) {
	t.Parallel()
	hs, err := NewHS256([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	exp := now.Add(time.Hour).Truncate(time.Second)
	tok := sign(t, jwt.SigningMethodHS256, []byte(secret), with(claims("user ü/1"), "exp", exp.Unix(), "aud", "ignored"))
	c, err := hs.Verify(tok, now)
	if err != nil || c.Subject != "user ü/1" || !c.ExpiresAt.Equal(exp) {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
	if hs.Algorithm() != HS256 {
		t.Fatalf("Algorithm = %s", hs.Algorithm())
	}
}

func TestNewKeys(t *testing.T) {
	t.Parallel()
	k := keysT(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(k.priv)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.priv.PublicKey)})
	if _, err := NewRS256(pkcs1); err != nil {
		t.Errorf("PKCS#1 public key: %v", err)
	}
	for _, c := range []struct {
		name, pem, reason string
	}{
		{"not pem", "hello", "no PEM block"},
		{"private key", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "private key"},
		{"1024 bits", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER})), "1024 bits"},
		{"certificate", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), "not a public key"},
		{"garbage der", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}})), "PKIX"},
	} {
		_, err := NewRS256([]byte(c.pem))
		var ke *KeyError
		if !errors.As(err, &ke) || !strings.Contains(ke.Reason, c.reason) {
			t.Errorf("%s: NewRS256 = %v, want a KeyError saying %q", c.name, err, c.reason)
		}
	}
	if _, err := NewHS256([]byte("short")); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Errorf("short secret: %v", err)
	}
}
