package apnsfake

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// APNs' reasons the fake answers with.
const (
	ReasonBadCollapseID               = "BadCollapseId"
	ReasonBadDeviceToken              = "BadDeviceToken"
	ReasonBadExpirationDate           = "BadExpirationDate"
	ReasonBadMessageID                = "BadMessageId"
	ReasonBadPriority                 = "BadPriority"
	ReasonBadTopic                    = "BadTopic"
	ReasonDuplicateHeaders            = "DuplicateHeaders"
	ReasonInvalidPushType             = "InvalidPushType"
	ReasonMissingDeviceToken          = "MissingDeviceToken"
	ReasonMissingTopic                = "MissingTopic"
	ReasonPayloadEmpty                = "PayloadEmpty"
	ReasonTopicDisallowed             = "TopicDisallowed"
	ReasonBadCertificate              = "BadCertificate"
	ReasonExpiredProviderToken        = "ExpiredProviderToken"
	ReasonInvalidProviderToken        = "InvalidProviderToken"
	ReasonMissingProviderToken        = "MissingProviderToken"
	ReasonBadPath                     = "BadPath"
	ReasonMethodNotAllowed            = "MethodNotAllowed"
	ReasonUnregistered                = "Unregistered"
	ReasonPayloadTooLarge             = "PayloadTooLarge"
	ReasonTooManyProviderTokenUpdates = "TooManyProviderTokenUpdates"
	ReasonTooManyRequests             = "TooManyRequests"
	ReasonServiceUnavailable          = "ServiceUnavailable"
	// ReasonBadPayload is the fake's own answer to a body that is not JSON
	// (APNs documents no reason for it).
	ReasonBadPayload = "BadPayload"
	// ReasonHTTP2Required is the fake's answer to an HTTP/1 request (APNs
	// refuses the connection instead).
	ReasonHTTP2Required = "HTTP2Required"
)

// Limits APNs applies.
const (
	MaxPayloadSize    = 4096
	MaxCollapseIDSize = 64
	// MaxTokenAge is how old a provider token's iat may be.
	MaxTokenAge = time.Hour
	// maxClockSkew is how far in the future an iat may be.
	maxClockSkew = 5 * time.Minute
	// maxCachedTokens bounds the cache of verified provider tokens.
	maxCachedTokens = 4096
)

// authorizer checks provider JWTs, caching the signatures it verified (APNs
// also verifies a token once, not per request), and client certificates.
type authorizer struct {
	keys           map[string]*ecdsa.PublicKey
	teamID         string
	clientCAs      *x509.CertPool
	updateInterval time.Duration

	mu       sync.Mutex
	verified map[string]int64     // bearer → iat (unix s)
	current  map[string]tokenSeen // kid → the latest token accepted
}

type tokenSeen struct {
	bearer string
	since  time.Time
}

func newAuthorizer(cfg Config) *authorizer {
	return &authorizer{keys: cfg.Keys, teamID: cfg.TeamID, clientCAs: cfg.ClientCAs, updateInterval: cfg.TokenUpdateInterval,
		verified: map[string]int64{}, current: map[string]tokenSeen{}}
}

// check authorizes a request: by its provider token when it has an
// authorization header, else by its client certificate. It returns the
// failure's status and reason, or 0 and "", and whether certificate auth was
// used.
func (a *authorizer) check(r *http.Request, now time.Time) (status int, reason string, certAuth bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return http.StatusForbidden, ReasonMissingProviderToken, false
		}
		if !a.certOK(r.TLS.PeerCertificates, now) {
			return http.StatusForbidden, ReasonBadCertificate, true
		}
		return 0, "", true
	}
	scheme, bearer, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || bearer == "" {
		return http.StatusForbidden, ReasonMissingProviderToken, false
	}
	status, reason = a.token(bearer, now)
	return status, reason, false
}

func (a *authorizer) certOK(chain []*x509.Certificate, now time.Time) bool {
	if a.clientCAs == nil {
		return false
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: a.clientCAs, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return err == nil
}

// token verifies a provider JWT.
func (a *authorizer) token(bearer string, now time.Time) (int, string) {
	a.mu.Lock()
	iat, ok := a.verified[bearer]
	a.mu.Unlock()
	kid := ""
	if !ok {
		var reason string
		kid, iat, reason = a.verifyJWT(bearer)
		if reason != "" {
			return http.StatusForbidden, reason
		}
	}
	issued := time.Unix(iat, 0)
	if now.Sub(issued) > MaxTokenAge {
		return http.StatusForbidden, ReasonExpiredProviderToken
	}
	if issued.Sub(now) > maxClockSkew {
		return http.StatusForbidden, ReasonInvalidProviderToken
	}
	if ok {
		return 0, ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, seen := a.current[kid]; seen && prev.bearer != bearer && a.updateInterval > 0 && now.Sub(prev.since) < a.updateInterval {
		return http.StatusTooManyRequests, ReasonTooManyProviderTokenUpdates
	}
	a.current[kid] = tokenSeen{bearer: bearer, since: now}
	if len(a.verified) >= maxCachedTokens {
		clear(a.verified)
	}
	a.verified[bearer] = iat
	return 0, ""
}

// verifyJWT checks an ES256 JWT's header, claims and signature; it returns the
// key id and iat, or a reason.
func (a *authorizer) verifyJWT(jwt string) (kid string, iat int64, reason string) {
	const invalid = ReasonInvalidProviderToken
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return "", 0, invalid
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	var claims struct {
		Iss string       `json:"iss"`
		Iat *json.Number `json:"iat"`
	}
	if !decodePart(parts[0], &header) || !decodePart(parts[1], &claims) {
		return "", 0, invalid
	}
	key, ok := a.keys[header.Kid]
	if header.Alg != "ES256" || !ok || key == nil || claims.Iss == "" || claims.Iss != a.teamID || claims.Iat == nil {
		return "", 0, invalid
	}
	at, err := claims.Iat.Int64()
	if err != nil {
		return "", 0, invalid
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", 0, invalid
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	rs, ss := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key, digest[:], rs, ss) {
		return "", 0, invalid
	}
	return header.Kid, at, ""
}

func decodePart(s string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}
