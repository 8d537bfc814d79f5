package webpushfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fake"
)

// maxBody is the most a push service must accept (RFC 8030 section 7.2).
const maxBody = 4096

// autopush's errno values for the answers the fake gives.
const (
	errnoMissingCrypto  = 101
	errnoNotFound       = 102
	errnoGone           = 103
	errnoTooLarge       = 104
	errnoUnauthorized   = 109
	errnoInvalidCrypto  = 110
	errnoMissingTTL     = 111
	errnoInvalidHeader  = 112
	errnoServiceUnavail = 201
	errnoTooMany        = 202
)

// handlePush is POST /push/{id}: the checks of a push service, the decryption
// a browser would do, then the token behaviours.
func (f *Fake) handlePush(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sub, ok := f.lookup(id)
	if !ok {
		writeError(w, http.StatusNotFound, errnoNotFound, "Request did not validate: no such subscription")
		return
	}
	if sub.gone {
		writeError(w, http.StatusGone, errnoGone, "Subscription is no longer valid")
		return
	}
	// VAPID (RFC 8292)
	token, key, err := parseAuthorization(r.Header.Get("Authorization"))
	if err != nil {
		w.Header().Set("WWW-Authenticate", "vapid")
		writeError(w, http.StatusUnauthorized, errnoUnauthorized, err.Error())
		return
	}
	endpoint := f.baseURL(r) + r.URL.EscapedPath()
	if err := verifyJWT(token, key, origin(endpoint), f.now()); err != nil {
		writeError(w, http.StatusForbidden, errnoUnauthorized, err.Error())
		return
	}
	keyB64 := b64(key)
	appID, known := f.cfg.VAPIDKeys[keyB64]
	if len(f.cfg.VAPIDKeys) > 0 && !known {
		writeError(w, http.StatusForbidden, errnoUnauthorized, "VAPID public key is not one this push service knows")
		return
	}
	if sub.serverKey != nil && string(sub.serverKey) != string(key) {
		writeError(w, http.StatusForbidden, errnoUnauthorized, "VAPID public key does not match the subscription's applicationServerKey")
		return
	}
	// headers (RFC 8030)
	if msg := checkHeaders(r.Header); msg != "" {
		errno := errnoInvalidHeader
		if strings.Contains(msg, "TTL header is missing") {
			errno = errnoMissingTTL
		}
		writeError(w, http.StatusBadRequest, errno, msg)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); !strings.EqualFold(ce, "aes128gcm") {
		writeError(w, http.StatusBadRequest, errnoMissingCrypto, fmt.Sprintf("Content-Encoding must be aes128gcm, not %q", ce))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, 0, "reading the body: "+err.Error())
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, errnoTooLarge, fmt.Sprintf("body over %d bytes", maxBody))
		return
	}
	// what the browser does (RFC 8291)
	plaintext, err := decrypt(body, sub.priv, sub.auth)
	if err != nil {
		writeError(w, http.StatusBadRequest, errnoInvalidCrypto, "the payload does not decrypt for this subscription: "+err.Error())
		return
	}
	n := f.attempts.Next(id)
	if f.cfg.Script != nil {
		reply, ok := f.cfg.Script(Attempt{ID: id, N: n, AppID: appID, Header: r.Header.Clone(), Plaintext: plaintext})
		if ok {
			if reply.Status >= 200 && reply.Status < 300 {
				f.accept(w, r, id, endpoint, appID, plaintext, reply.Status)
				return
			}
			for k, vs := range reply.Header {
				w.Header()[k] = vs
			}
			if reply.Body == "" {
				writeError(w, reply.Status, 0, "scripted answer")
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(reply.Status)
			_, _ = io.WriteString(w, reply.Body)
			return
		}
	}
	switch fake.Decide(fake.ParseBehavior(id), n, r.Context().Done()) {
	case fake.Gone:
		writeError(w, http.StatusGone, errnoGone, "Subscription is no longer valid")
	case fake.Invalid:
		writeError(w, http.StatusNotFound, errnoNotFound, "Request did not validate: invalid token")
	case fake.Throttled:
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, errnoTooMany, "Too many requests")
	case fake.Unavailable:
		writeError(w, http.StatusServiceUnavailable, errnoServiceUnavail, "Service unavailable")
	default:
		f.accept(w, r, id, endpoint, appID, plaintext, http.StatusCreated)
	}
}

// accept records the message and answers with its Location.
func (f *Fake) accept(w http.ResponseWriter, r *http.Request, id, endpoint, appID string, plaintext []byte, status int) {
	payload := json.RawMessage(plaintext)
	if !json.Valid(plaintext) {
		payload, _ = json.Marshal(string(plaintext))
	}
	f.rec.Add(fake.Record{
		Channel:    channels.WebPush,
		Token:      id,
		Endpoint:   endpoint,
		AppID:      appID,
		CollapseID: r.Header.Get("Topic"),
		Headers:    fake.Headers(r.Header, "TTL", "Urgency", "Topic", "Content-Encoding"),
		Payload:    payload,
	})
	w.Header().Set("Location", fmt.Sprintf("%s/m/%d", f.baseURL(r), f.msgSeq.Add(1)))
	w.Header().Set("TTL", r.Header.Get("TTL"))
	w.WriteHeader(status)
}

// checkHeaders checks TTL (required), Urgency and Topic; it returns what is
// wrong, or "".
func checkHeaders(h http.Header) string {
	ttl := h.Get("TTL")
	if ttl == "" {
		return "TTL header is missing"
	}
	if n, err := strconv.Atoi(ttl); err != nil || n < 0 {
		return fmt.Sprintf("TTL header %q is not a number of seconds", ttl)
	}
	switch u := h.Get("Urgency"); u {
	case "", "very-low", "low", "normal", "high":
	default:
		return fmt.Sprintf("Urgency header %q is not very-low, low, normal or high", u)
	}
	if t := h.Get("Topic"); t != "" {
		if len(t) > 32 || strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return "Topic header must be at most 32 characters of the base64url alphabet"
		}
	}
	return ""
}

// writeError answers in autopush's error shape.
func writeError(w http.ResponseWriter, status, errno int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": status, "errno": errno, "error": http.StatusText(status), "message": message,
	})
}

// origin is scheme://host of a URL.
func origin(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}
