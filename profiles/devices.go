package profiles

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// WebSubscription is a browser's PushSubscription.
type WebSubscription struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

// ParseWebSubscription parses and checks a PushSubscription JSON document.
func ParseWebSubscription(s string) (*WebSubscription, error) {
	var sub WebSubscription
	if err := json.Unmarshal([]byte(s), &sub); err != nil {
		return nil, errors.New(`a web token must be the PushSubscription JSON {"endpoint":…,"keys":{"p256dh":…,"auth":…}}`)
	}
	u, err := url.Parse(sub.Endpoint)
	if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && isLoopback(u.Hostname())) {
		return nil, errors.New("subscription endpoint must be an absolute https URL (http only on loopback)")
	}
	p256dh, err := decodeB64URL(sub.Keys.P256dh)
	if err == nil && len(p256dh) == 65 {
		_, err = ecdh.P256().NewPublicKey(p256dh) // on the curve, uncompressed
	}
	if err != nil || len(p256dh) != 65 {
		return nil, errors.New("keys.p256dh must be a base64url uncompressed P-256 point")
	}
	auth, err := decodeB64URL(sub.Keys.Auth)
	if err != nil || len(auth) != 16 {
		return nil, errors.New("keys.auth must be 16 bytes, base64url")
	}
	// one dialect in storage, so the sender need not guess it
	sub.Keys.P256dh = base64.RawURLEncoding.EncodeToString(p256dh)
	sub.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	return &sub, nil
}

// isLoopback reports whether host names this machine (test and dev push services).
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func decodeB64URL(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// NormalizeToken checks a push token for a platform and returns the form to store
// and the key that identifies the device within its app. A web token is stored as
// canonical PushSubscription JSON and keyed by its endpoint, so the same
// subscription sent twice, in any key order, is one device.
func NormalizeToken(platform, token string) (stored, key string, err error) {
	switch platform {
	case PlatformWeb:
		sub, err := ParseWebSubscription(token)
		if err != nil {
			return "", "", err
		}
		b, _ := json.Marshal(sub)
		return string(b), sub.Endpoint, nil
	case PlatformIOS, PlatformAndroid:
		t := strings.TrimSpace(token)
		if t == "" || len(t) > 4096 {
			return "", "", errors.New("token must be 1 to 4096 characters")
		}
		for _, r := range t {
			if r <= ' ' || r > '~' {
				return "", "", fmt.Errorf("token holds an invalid character %q", r)
			}
		}
		if platform == PlatformIOS && isHex(t) {
			t = strings.ToLower(t) // APNs tokens are case-insensitive hex
		}
		return t, t, nil
	}
	return "", "", fmt.Errorf("unknown platform %q", platform)
}

func isHex(s string) bool {
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F') {
			return false
		}
	}
	return true
}
