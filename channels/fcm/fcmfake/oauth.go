package fcmfake

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
)

// jwtBearer is the grant type of a service account's token request.
const jwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Clock tolerance and the longest assertion Google accepts.
const (
	clockSkew       = 5 * time.Minute
	maxAssertionTTL = time.Hour
)

// claims are the JWT claims of a service account's assertion.
type claims struct {
	Iss   string `json:"iss"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
}

// grantError is a refused token request: an OAuth error code and description.
type grantError struct {
	code, desc string
}

func (e *grantError) Error() string { return e.code + ": " + e.desc }

// serveToken is the OAuth 2.0 token endpoint (RFC 7523 JWT bearer grant).
func (f *Fake) serveToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, &grantError{"invalid_request", "Content-Type must be application/x-www-form-urlencoded"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, &grantError{"invalid_request", "unreadable form body"})
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != jwtBearer {
		writeOAuthError(w, &grantError{"unsupported_grant_type", fmt.Sprintf("Invalid grant_type: %s", gt)})
		return
	}
	c, err := f.verifyAssertion(r.PostForm.Get("assertion"), audience(r))
	if err != nil {
		var ge *grantError
		if !errors.As(err, &ge) {
			ge = &grantError{"invalid_grant", err.Error()}
		}
		writeOAuthError(w, ge)
		return
	}
	tok, err := newAccessToken()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := f.cfg.Now()
	f.mu.Lock()
	for k, v := range f.tokens { // forget expired tokens so the map stays small
		if !now.Before(v.expiry) {
			delete(f.tokens, k)
		}
	}
	f.tokens[tok] = issued{email: c.Iss, expiry: now.Add(f.cfg.TokenTTL)}
	f.issuedN++
	f.mu.Unlock()

	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": tok,
		"expires_in":   int(f.cfg.TokenTTL / time.Second),
		"token_type":   "Bearer",
	})
}

// verifyAssertion checks an RS256 JWT assertion as Google's token endpoint
// does: a known issuer, its key's signature, the audience, a short lifetime
// around now and a scope that allows sending messages.
func (f *Fake) verifyAssertion(assertion, aud string) (*claims, error) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, &grantError{"invalid_grant", "Invalid JWT: malformed assertion"}
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, &grantError{"invalid_grant", "Invalid JWT: unreadable header"}
	}
	if hdr.Alg != "RS256" {
		return nil, &grantError{"invalid_grant", fmt.Sprintf("Invalid JWT: algorithm %q is not RS256", hdr.Alg)}
	}
	var c claims
	if err := decodeSegment(parts[1], &c); err != nil {
		return nil, &grantError{"invalid_grant", "Invalid JWT: unreadable claims"}
	}
	key, ok := f.account(c.Iss)
	if !ok || key == nil {
		return nil, &grantError{"invalid_grant", "Invalid grant: account not found"}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, &grantError{"invalid_grant", "Invalid JWT Signature."}
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) != nil {
		return nil, &grantError{"invalid_grant", "Invalid JWT Signature."}
	}
	if c.Aud != aud {
		return nil, &grantError{"invalid_grant", "Invalid JWT: Failed audience check. The right audience is " + aud}
	}
	now := f.cfg.Now()
	iat, exp := time.Unix(c.Iat, 0), time.Unix(c.Exp, 0)
	if c.Iat == 0 || c.Exp == 0 || iat.After(now.Add(clockSkew)) || !exp.After(now) ||
		!exp.After(iat) || exp.Sub(iat) > maxAssertionTTL {
		return nil, &grantError{"invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."}
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, ScopeMessaging) && !slices.Contains(scopes, ScopeCloudPlatform) {
		return nil, &grantError{"invalid_scope", "Invalid OAuth scope or ID token audience provided."}
	}
	return &c, nil
}

// decodeSegment decodes one base64url JWT segment as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// audience is the URL the request was sent to, which an assertion's aud must name.
func audience(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.Path
}

// newAccessToken returns a random opaque access token shaped like Google's.
func newAccessToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	return "ya29.fake-" + base64.RawURLEncoding.EncodeToString(b), nil
}

// writeOAuthError answers a refused token request as Google does (400 with
// an OAuth error JSON body).
func writeOAuthError(w http.ResponseWriter, e *grantError) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": e.code, "error_description": e.desc})
}

// bearer returns the service account a request's bearer token was issued to,
// or false when the token is missing, unknown or expired.
func (f *Fake) bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return "", false
	}
	now := f.cfg.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	is, ok := f.tokens[tok]
	if !ok || !now.Before(is.expiry) {
		return "", false
	}
	return is.email, true
}
