package webpushfake

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// maxJWTLifetime is the most a VAPID JWT's exp may be ahead (RFC 8292 section 2).
const maxJWTLifetime = 24 * time.Hour

var errNoAuth = errors.New(`missing or malformed Authorization header (want "vapid t=<JWT>, k=<key>")`)

// parseAuthorization reads "vapid t=<JWT>, k=<public key>" and returns the JWT
// and the decoded uncompressed public key.
func parseAuthorization(h string) (token string, key []byte, err error) {
	scheme, params, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "vapid") {
		return "", nil, errNoAuth
	}
	var k string
	for _, p := range strings.Split(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(name) {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	if token == "" || k == "" {
		return "", nil, errNoAuth
	}
	key, err = decodeB64(k)
	if err != nil || len(key) != 65 || key[0] != 4 {
		return "", nil, errors.New("the k parameter must be a base64url uncompressed P-256 public key")
	}
	return token, key, nil
}

// verifyJWT checks an ES256 VAPID JWT against key: the signature, aud (the
// push resource's origin), exp (in the future, at most 24 hours ahead) and sub
// (a mailto: or https: contact).
func verifyJWT(token string, key []byte, aud string, now time.Time) error {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return errors.New("the JWT must have three parts")
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	if err := decodeJSONPart(parts[0], &header); err != nil {
		return fmt.Errorf("JWT header: %w", err)
	}
	if header.Alg != "ES256" {
		return fmt.Errorf("JWT alg %q, want ES256", header.Alg)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), key)
	if err != nil {
		return fmt.Errorf("the k parameter is not a P-256 point: %w", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("the JWT signature must be 64 bytes (r||s), base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return errors.New("the JWT signature does not verify with the k key")
	}
	var claims struct {
		Aud any `json:"aud"`
		Exp any `json:"exp"`
		Sub any `json:"sub"`
	}
	if err := decodeJSONPart(parts[1], &claims); err != nil {
		return fmt.Errorf("JWT claims: %w", err)
	}
	if a, _ := claims.Aud.(string); a != aud {
		return fmt.Errorf("JWT aud %v, want the push resource's origin %q", claims.Aud, aud)
	}
	exp, ok := claims.Exp.(float64)
	if !ok || math.IsNaN(exp) {
		return errors.New("JWT exp missing or not a number")
	}
	expAt := time.Unix(int64(exp), 0)
	switch {
	case !expAt.After(now):
		return fmt.Errorf("JWT expired at %s", expAt.UTC().Format(time.RFC3339))
	case expAt.Sub(now) > maxJWTLifetime:
		return fmt.Errorf("JWT exp %s is more than 24 hours ahead", expAt.UTC().Format(time.RFC3339))
	}
	sub, _ := claims.Sub.(string)
	if err := checkSubject(sub); err != nil {
		return err
	}
	return nil
}

// checkSubject requires a mailto: address or an https: URL, and refuses the
// doubled "mailto:mailto:" a misused library produces (Apple answers it 403
// BadJwtToken).
func checkSubject(sub string) error {
	switch {
	case strings.HasPrefix(sub, "mailto:"):
		addr := strings.TrimPrefix(sub, "mailto:")
		if strings.HasPrefix(strings.ToLower(addr), "mailto:") || !strings.Contains(addr, "@") || strings.ContainsAny(addr, " <>") {
			return fmt.Errorf("JWT sub %q is not a mailto: address", sub)
		}
		return nil
	case strings.HasPrefix(sub, "https://") && len(sub) > len("https://"):
		return nil
	}
	return fmt.Errorf("JWT sub %q must be a mailto: or https: contact", sub)
}

func decodeJSONPart(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return errors.New("not base64url")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
