package webpush

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
)

// Credentials are one app's VAPID identity (RFC 8292).
type Credentials struct {
	// VAPIDPublicKey is the uncompressed P-256 point (65 bytes), base64url
	// without padding: the browser's applicationServerKey.
	VAPIDPublicKey string
	// VAPIDPrivateKey is the P-256 scalar (32 bytes), base64url without padding.
	VAPIDPrivateKey string
	// Subject is the contact push services see in the JWT "sub" claim: an
	// e-mail address ("ops@example.com", with or without "mailto:") or an https
	// URL.
	Subject string
}

// GenerateVAPIDKeys creates a VAPID key pair, both base64url without padding:
// the public key is the 65-byte uncompressed P-256 point (what a page passes as
// applicationServerKey), the private key the 32-byte scalar.
func GenerateVAPIDKeys() (public, private string, err error) {
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", fmt.Errorf("webpush: generate VAPID key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(key.PublicKey().Bytes()),
		base64.RawURLEncoding.EncodeToString(key.Bytes()), nil
}

// Validate checks that the keys decode, belong together, and that the subject is
// an e-mail address or an https URL. Its errors never contain key material.
func (c Credentials) Validate() error {
	_, err := c.normalize()
	return err
}

// normalize validates c and returns it with canonical keys (raw base64url) and
// the subject as webpush-go wants it: a bare e-mail address (the library adds
// "mailto:" itself) or an https URL.
func (c Credentials) normalize() (Credentials, error) {
	var errs []error
	pub, err := decodeKey(c.VAPIDPublicKey)
	if err == nil && len(pub) != 65 {
		err = fmt.Errorf("%d bytes, want 65", len(pub))
	}
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(pub)
	}
	if err != nil {
		errs = append(errs, errors.New("webpush: VAPID public key must be a base64url uncompressed P-256 point (65 bytes)"))
	}
	priv, perr := decodeKey(c.VAPIDPrivateKey)
	var key *ecdh.PrivateKey
	if perr == nil {
		key, perr = ecdh.P256().NewPrivateKey(priv)
	}
	if perr != nil {
		errs = append(errs, errors.New("webpush: VAPID private key must be a base64url P-256 scalar (32 bytes)"))
	}
	if err == nil && perr == nil && string(key.PublicKey().Bytes()) != string(pub) {
		errs = append(errs, errors.New("webpush: the VAPID public key does not belong to the private key"))
	}
	subject, serr := normalizeSubject(c.Subject)
	if serr != nil {
		errs = append(errs, serr)
	}
	if len(errs) > 0 {
		return Credentials{}, errors.Join(errs...)
	}
	return Credentials{
		VAPIDPublicKey:  base64.RawURLEncoding.EncodeToString(pub),
		VAPIDPrivateKey: base64.RawURLEncoding.EncodeToString(priv),
		Subject:         subject,
	}, nil
}

// normalizeSubject returns s as webpush-go expects it: an https URL unchanged,
// an e-mail address without "mailto:" (the library prefixes it; passing it
// prefixed gives "mailto:mailto:…", which Apple rejects).
func normalizeSubject(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", errors.New("webpush: VAPID subject is required (an e-mail address or an https URL)")
	case strings.HasPrefix(strings.ToLower(s), "https:"):
		u, err := url.Parse(s)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return "", fmt.Errorf("webpush: VAPID subject %q is not a valid https URL", s)
		}
		// url.Parse lower-cases the scheme: webpush-go recognises only "https:"
		// and would otherwise send "mailto:HTTPS://…"
		return u.String(), nil
	}
	addr := s
	if len(addr) >= 7 && strings.EqualFold(addr[:7], "mailto:") {
		addr = addr[7:]
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return "", fmt.Errorf("webpush: VAPID subject %q must be an e-mail address or an https URL", s)
	}
	return addr, nil
}

// decodeKey decodes base64url (raw or padded) and, leniently, standard base64.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
