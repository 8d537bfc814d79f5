package sdkauth

import (
	"errors"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify: any input is either accepted with a subject inside the lifetime
// cap, or refused with an *Error wrapping one sentinel; never a panic. The
// seeds under testdata/fuzz/FuzzVerify are tokens of every shape the table
// tests use.
func FuzzVerify(f *testing.F) {
	k := keysT(f)
	hs, err := NewHS256([]byte(secret))
	if err != nil {
		f.Fatal(err)
	}
	rs, err := NewRS256(k.pubPEM)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sign(f, jwt.SigningMethodHS256, []byte(secret), claims("u1")))
	f.Add(sign(f, jwt.SigningMethodRS256, k.priv, claims("u1")))
	f.Add(sign(f, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims("u1")))
	f.Add("a.b.c")
	sentinels := []error{ErrMalformed, ErrWrongAlgorithm, ErrBadSignature, ErrExpired, ErrNotYetValid, ErrInvalidClaims}
	f.Fuzz(func(t *testing.T, token string) {
		for _, v := range []*Verifier{hs, rs} {
			c, err := v.Verify(token, now)
			if err == nil {
				if c.Subject == "" || c.ExpiresAt.Before(now.Add(-Leeway)) || c.ExpiresAt.After(now.Add(MaxLifetime+Leeway)) {
					t.Fatalf("accepted %q with claims %+v", token, c)
				}
				continue
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("%q: error %T %v is not an *Error", token, err, err)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%q: error %v wraps %d sentinels, want 1", token, err, n)
			}
		}
	})
}
