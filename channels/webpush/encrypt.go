package webpush

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The request of one message, built here rather than by webpush-go: the
// same wire format (one aes128gcm record of RecordSize bytes, RFC 8291; a
// VAPID JWT valid for 12 hours, RFC 8292), with crypto/ecdh for the
// per-message key agreement and the VAPID header signed once per push
// service origin and reused until an hour before it expires, instead of once
// per message.

// recordHeaderLen is the aes128gcm header: salt (16), record size (4), key
// id length (1) and the sender's uncompressed public key (65).
const recordHeaderLen = 16 + 4 + 1 + 65

// errPayloadTooLarge: the plaintext does not fit one record.
var errPayloadTooLarge = errors.New("webpush: payload has exceeded the maximum length")

// encrypt returns the request body of plaintext for a subscription's keys
// (raw base64url): one aes128gcm record, padded to RecordSize bytes.
func encrypt(plaintext []byte, keys Keys) ([]byte, error) {
	uaPub, err := base64.RawURLEncoding.DecodeString(keys.P256dh)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh key: %w", err)
	}
	auth, err := base64.RawURLEncoding.DecodeString(keys.Auth)
	if err != nil {
		return nil, fmt.Errorf("webpush: auth secret: %w", err)
	}
	uaKey, err := ecdh.P256().NewPublicKey(uaPub)
	if err != nil {
		return nil, fmt.Errorf("webpush: p256dh key: %w", err)
	}
	asKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	secret, err := asKey.ECDH(uaKey)
	if err != nil {
		return nil, err
	}
	asPub := asKey.PublicKey().Bytes()
	info := make([]byte, 0, 14+2*65)
	info = append(append(append(info, "WebPush: info\x00"...), uaPub...), asPub...)
	ikm, err := hkdf.Key(sha256.New, secret, auth, string(info), 32)
	if err != nil {
		return nil, err
	}
	body := make([]byte, recordHeaderLen, RecordSize)
	salt := body[:16]
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	cek, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Key(sha256.New, ikm, salt, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint32(body[16:20], RecordSize)
	body[20] = byte(len(asPub))
	copy(body[21:], asPub)
	// The plaintext, the last-record delimiter and zero padding fill the record.
	dataLen := RecordSize - gcm.Overhead() - recordHeaderLen
	if len(plaintext)+1 > dataLen {
		return nil, errPayloadTooLarge
	}
	data := body[recordHeaderLen : recordHeaderLen+dataLen]
	n := copy(data, plaintext)
	data[n] = 0x02
	clear(data[n+1:])
	return gcm.Seal(body[:recordHeaderLen], nonce, data, nil), nil
}

// vapidSigner makes the Authorization header of a push service origin and
// keeps it while it is valid for more than an hour.
type vapidSigner struct {
	key     *ecdsa.PrivateKey
	pub     string // raw base64url, the k= parameter
	subject string // the sub claim
	now     func() time.Time

	mu      sync.Mutex
	headers map[string]vapidHeader // by origin
}

type vapidHeader struct {
	value   string
	expires time.Time
}

const (
	vapidLifetime = 12 * time.Hour
	vapidRenew    = time.Hour // before expiry
)

func newVAPIDSigner(c Credentials, now func() time.Time) (*vapidSigner, error) {
	priv, err := base64.RawURLEncoding.DecodeString(c.VAPIDPrivateKey)
	if err != nil {
		return nil, errors.New("webpush: VAPID private key must be base64url")
	}
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), priv)
	if err != nil {
		return nil, errors.New("webpush: VAPID private key must be a P-256 scalar")
	}
	subject := c.Subject
	if !strings.HasPrefix(subject, "https:") {
		subject = "mailto:" + subject
	}
	return &vapidSigner{key: key, pub: c.VAPIDPublicKey, subject: subject, now: now, headers: map[string]vapidHeader{}}, nil
}

// header returns the Authorization header for requests to origin
// (scheme://host of the endpoint).
func (v *vapidSigner) header(origin string) (string, error) {
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if h, ok := v.headers[origin]; ok && now.Before(h.expires.Add(-vapidRenew)) {
		return h.value, nil
	}
	exp := now.Add(vapidLifetime)
	t, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{"aud": origin, "exp": exp.Unix(), "sub": v.subject}).SignedString(v.key)
	if err != nil {
		return "", err
	}
	h := vapidHeader{value: "vapid t=" + t + ", k=" + v.pub, expires: time.Unix(exp.Unix(), 0)}
	v.headers[origin] = h
	return h.value, nil
}

// request builds the POST of one message to its subscription.
func (s *Sender) request(ctx context.Context, sub Subscription, push Push) (*http.Request, error) {
	body, err := encrypt(push.Payload, sub.Keys)
	if err != nil {
		return nil, err
	}
	auth, err := s.vapid.header(origin(sub.Endpoint))
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("TTL", strconv.Itoa(push.TTL))
	if push.Topic != "" {
		req.Header.Set("Topic", push.Topic)
	}
	switch push.Urgency {
	case "very-low", "low", "normal", "high":
		req.Header.Set("Urgency", push.Urgency)
	}
	req.Header.Set("Authorization", auth)
	return req, nil
}
