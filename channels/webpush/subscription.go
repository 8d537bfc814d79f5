package webpush

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"strings"
)

// maxEndpointLen bounds a subscription endpoint (browsers' are a few hundred bytes).
const maxEndpointLen = 2048

// Subscription is a browser's PushSubscription: where to post and the keys to
// encrypt for.
type Subscription struct {
	Endpoint string `json:"endpoint"`
	Keys     Keys   `json:"keys"`
}

// Keys are a subscription's keys, base64url without padding.
type Keys struct {
	// P256dh is the browser's uncompressed P-256 public key (65 bytes).
	P256dh string `json:"p256dh"`
	// Auth is the 16-byte authentication secret.
	Auth string `json:"auth"`
}

// ErrInvalidSubscription is returned for a token that is not a usable
// PushSubscription.
var ErrInvalidSubscription = errors.New("webpush: invalid subscription")

// ParseSubscription decodes a PushSubscription JSON (as PushSubscription.toJSON()
// gives it; other members such as expirationTime are ignored) and checks it: an
// absolute http(s) endpoint, a p256dh key that is a point on P-256 and a 16-byte
// auth secret. Keys may be base64url or base64, padded or not; the result holds
// them as raw base64url. It does not apply an EndpointPolicy. Errors wrap
// ErrInvalidSubscription and never quote the keys or the endpoint's path.
func ParseSubscription(token string) (Subscription, error) {
	var sub Subscription
	dec := json.NewDecoder(strings.NewReader(token))
	err := dec.Decode(&sub)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err != nil {
		return Subscription{}, invalid(`not the PushSubscription JSON {"endpoint":…,"keys":{"p256dh":…,"auth":…}}`)
	}
	if len(sub.Endpoint) > maxEndpointLen {
		return Subscription{}, invalid("endpoint longer than 2048 bytes")
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return Subscription{}, invalid("endpoint must be an absolute http(s) URL")
	}
	p256dh, err := decodeKey(sub.Keys.P256dh)
	if err == nil && len(p256dh) != 65 {
		err = errors.New("length")
	}
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(p256dh)
	}
	if err != nil {
		return Subscription{}, invalid("keys.p256dh must be a base64url uncompressed P-256 point")
	}
	auth, err := decodeKey(sub.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return Subscription{}, invalid("keys.auth must be 16 bytes, base64url")
	}
	sub.Keys.P256dh = base64.RawURLEncoding.EncodeToString(p256dh)
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	return sub, nil
}

// Token returns the canonical token form of s: {"endpoint":…,"keys":{"p256dh":…,"auth":…}}.
func (s Subscription) Token() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // strings only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}

func invalid(detail string) error {
	return &subscriptionError{detail: detail}
}

type subscriptionError struct{ detail string }

func (e *subscriptionError) Error() string { return ErrInvalidSubscription.Error() + ": " + e.detail }
func (e *subscriptionError) Unwrap() error { return ErrInvalidSubscription }
