package sdkauth

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Algorithms a token may be signed with.
const (
	HS256 = "HS256"
	RS256 = "RS256"
)

const (
	// MaxLifetime is the longest a token may be valid: exp - iat (or exp -
	// now without iat). Short-lived tokens limit what a leaked one allows.
	MaxLifetime = 24 * time.Hour
	// Leeway is the clock skew allowed between the signer and Herald on exp,
	// nbf and iat.
	Leeway = 60 * time.Second
	// MaxTokenBytes caps the token's length; a longer one is malformed.
	MaxTokenBytes = 8 << 10
	// MinSecretBytes is the shortest HS256 secret (RFC 7518 §3.2: at least
	// the hash's size).
	MinSecretBytes = 32
	// MinRSABits is the smallest RS256 key accepted.
	MinRSABits = 2048
)

// Sentinels a verification error wraps; callers branch on them with errors.Is.
var (
	ErrMalformed      = errors.New("malformed token")
	ErrWrongAlgorithm = errors.New("wrong signing algorithm")
	ErrBadSignature   = errors.New("bad signature")
	ErrExpired        = errors.New("token expired")
	ErrNotYetValid    = errors.New("token not yet valid")
	ErrInvalidClaims  = errors.New("invalid claims")
)

// Error is a token Herald does not accept: Err is one of the sentinels, Detail
// says why in words fit for the client.
type Error struct {
	Err    error
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func tokenErr(kind error, format string, args ...any) *Error {
	return &Error{Err: kind, Detail: fmt.Sprintf(format, args...)}
}

// Claims are what a verified token says.
type Claims struct {
	// Subject is the user's external id.
	Subject   string
	ExpiresAt time.Time
}

// Verifier checks tokens for one app's key. It is safe for concurrent use.
type Verifier struct {
	alg string
	key any // []byte for HS256, *rsa.PublicKey for RS256
}

// KeyError is a key Herald cannot verify with; Reason is fit for a 400 answer.
type KeyError struct{ Reason string }

func (e *KeyError) Error() string { return e.Reason }

// NewHS256 returns a verifier of HS256 tokens signed with secret, which must be
// at least MinSecretBytes long.
func NewHS256(secret []byte) (*Verifier, error) {
	if len(secret) < MinSecretBytes {
		return nil, &KeyError{Reason: fmt.Sprintf("the HS256 secret must be at least %d bytes, got %d", MinSecretBytes, len(secret))}
	}
	return &Verifier{alg: HS256, key: append([]byte(nil), secret...)}, nil
}

// NewRS256 returns a verifier of RS256 tokens for an RSA public key in PEM:
// "PUBLIC KEY" (PKIX, `openssl rsa -pubout`) or "RSA PUBLIC KEY" (PKCS#1), at
// least MinRSABits long.
func NewRS256(publicKeyPEM []byte) (*Verifier, error) {
	pub, err := ParseRSAPublicKey(publicKeyPEM)
	if err != nil {
		return nil, err
	}
	return &Verifier{alg: RS256, key: pub}, nil
}

// ParseRSAPublicKey parses an RSA public key in PEM (see NewRS256).
func ParseRSAPublicKey(publicKeyPEM []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(publicKeyPEM)
	if block == nil {
		return nil, &KeyError{Reason: "no PEM block found (expected -----BEGIN PUBLIC KEY-----)"}
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, &KeyError{Reason: "not a PKIX public key: " + err.Error()}
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, &KeyError{Reason: fmt.Sprintf("not an RSA key (%T): RS256 needs RSA", k)}
		}
		pub = rk
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, &KeyError{Reason: "not a PKCS#1 public key: " + err.Error()}
		}
		pub = k
	case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY":
		return nil, &KeyError{Reason: "this is a private key: give its public key (openssl rsa -in key.pem -pubout); the private key stays with your backend"}
	default:
		return nil, &KeyError{Reason: fmt.Sprintf("PEM block %q is not a public key (expected PUBLIC KEY)", block.Type)}
	}
	if pub.N.BitLen() < MinRSABits {
		return nil, &KeyError{Reason: fmt.Sprintf("the RSA key has %d bits; at least %d are required", pub.N.BitLen(), MinRSABits)}
	}
	return pub, nil
}

// Algorithm is the alg the verifier accepts.
func (v *Verifier) Algorithm() string { return v.alg }

// Verify checks a compact JWT at time now and returns its claims, or an *Error.
func (v *Verifier) Verify(token string, now time.Time) (*Claims, error) {
	if token == "" {
		return nil, tokenErr(ErrMalformed, "empty token")
	}
	if len(token) > MaxTokenBytes {
		return nil, tokenErr(ErrMalformed, "longer than %d bytes", MaxTokenBytes)
	}
	p := jwt.NewParser(
		jwt.WithLeeway(Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithStrictDecoding(),
	)
	var rc jwt.RegisteredClaims
	_, err := p.ParseWithClaims(token, &rc, v.keyFor)
	if err != nil {
		return nil, v.classify(err, &rc, now)
	}
	if rc.Subject == "" {
		return nil, tokenErr(ErrInvalidClaims, "sub (the user's external id) is required")
	}
	exp := rc.ExpiresAt.Time
	start, from := now, "now"
	if rc.IssuedAt != nil {
		start, from = rc.IssuedAt.Time, "iat"
	}
	if exp.Sub(start) > MaxLifetime {
		return nil, tokenErr(ErrInvalidClaims, "exp is %s after %s; tokens may live at most %s",
			exp.Sub(start).Round(time.Second), from, MaxLifetime)
	}
	return &Claims{Subject: rc.Subject, ExpiresAt: exp.UTC()}, nil
}

// keyFor gives the parser the key only for the app's own algorithm: "none",
// other algorithms and HS256 against an RS256 key never reach a verification.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, tokenErr(ErrMalformed, "the crit header names extensions Herald does not support")
	}
	if alg := t.Method.Alg(); alg != v.alg {
		return nil, tokenErr(ErrWrongAlgorithm, "the token is signed with %s; this app accepts %s only", printable(alg), v.alg)
	}
	return v.key, nil
}

// classify turns the parser's error into an *Error.
func (v *Verifier) classify(err error, rc *jwt.RegisteredClaims, now time.Time) error {
	var own *Error
	switch {
	case errors.As(err, &own):
		return own
	case errors.Is(err, jwt.ErrTokenMalformed):
		return tokenErr(ErrMalformed, "%s", malformedDetail(err))
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// the alg header is missing, not a string, or names no known algorithm
		return tokenErr(ErrWrongAlgorithm, "the alg header is missing or unsupported; this app accepts %s only", v.alg)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return tokenErr(ErrBadSignature, "the signature does not match the app's %s key", v.alg)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return tokenErr(ErrInvalidClaims, "exp is required")
	case errors.Is(err, jwt.ErrTokenExpired):
		return tokenErr(ErrExpired, "expired at %s (now %s)", stamp(rc.ExpiresAt), now.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return tokenErr(ErrNotYetValid, "nbf is %s (now %s)", stamp(rc.NotBefore), now.UTC().Format(time.RFC3339))
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return tokenErr(ErrNotYetValid, "iat is %s, in the future (now %s)", stamp(rc.IssuedAt), now.UTC().Format(time.RFC3339))
	default:
		return tokenErr(ErrInvalidClaims, "%s", err.Error())
	}
}

// malformedDetail is the parser's reason without the wrapped JSON or base64
// error's echo of the input.
func malformedDetail(err error) string {
	switch msg := err.Error(); {
	case strings.Contains(msg, "invalid number of segments"):
		return "a JWT has three base64url parts separated by dots"
	case strings.Contains(msg, "decode header"):
		return "the header is not base64url-encoded JSON"
	case strings.Contains(msg, "decode claim"):
		return "the claims are not base64url-encoded JSON with numeric exp, iat, nbf and a string sub"
	case strings.Contains(msg, "decode signature"):
		return "the signature is not base64url"
	default:
		return "not a compact JWT"
	}
}

func stamp(d *jwt.NumericDate) string {
	if d == nil {
		return "unset"
	}
	return d.UTC().Format(time.RFC3339)
}

// printable bounds an attacker-chosen alg before it goes into a message.
func printable(s string) string {
	if len(s) > 16 {
		s = s[:16] + "…"
	}
	return fmt.Sprintf("%q", s)
}
