package apnsfake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fake"
)

// Config configures a Fake.
type Config struct {
	// Keys are the public halves of the .p8 signing keys, by key id.
	Keys map[string]*ecdsa.PublicKey
	// TeamID is the team the provider tokens must be issued by (iss).
	TeamID string
	// Topics maps each topic the fake accepts to the app id it records.
	Topics map[string]string
	// ClientCAs verify the client certificates of certificate auth; nil
	// refuses every certificate.
	ClientCAs *x509.CertPool
	// TokenUpdateInterval, when set, answers 429 TooManyProviderTokenUpdates
	// to a new provider token for a key sooner than this after the previous
	// one (APNs uses 20 minutes). Default: 0, not checked.
	TokenUpdateInterval time.Duration
	// Recorder records accepted notifications. Default: a new recorder
	// keeping the latest 10,000.
	Recorder *fake.Recorder
	// Script, when set, is asked first about every notification that passed
	// verification: ok true answers status (with reason and Retry-After when
	// not empty) instead of the token's behaviour; status 200 accepts.
	Script func(token string) (status int, reason string, retryAfter string, ok bool)
	// Now is the fake's clock (token age, timestamps). Default: time.Now.
	Now func() time.Time
}

// Fake is a fake APNs. It is safe for concurrent use.
type Fake struct {
	cfg      Config
	auth     *authorizer
	attempts fake.Attempts
	requests atomic.Int64
}

// New returns a Fake.
func New(cfg Config) *Fake {
	if cfg.Recorder == nil {
		cfg.Recorder = fake.NewRecorder(10000)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Fake{cfg: cfg, auth: newAuthorizer(cfg)}
}

// Register mounts APNs' routes (/3/…) on mux.
func (f *Fake) Register(mux *http.ServeMux) { mux.Handle("/3/", f) }

// Recorder returns the recorder of accepted notifications.
func (f *Fake) Recorder() *fake.Recorder { return f.cfg.Recorder }

// Requests returns how many requests reached the provider API.
func (f *Fake) Requests() int64 { return f.requests.Load() }

// recordedHeaders are the request headers a record keeps.
func recordedHeaders(h http.Header) map[string]string {
	return fake.Headers(h, "apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id", "apns-id")
}

// ServeHTTP answers POST /3/device/{token}.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	now := f.cfg.Now()
	apnsID := r.Header.Get("apns-id")
	if apnsID == "" || !isUUID(apnsID) {
		apnsID = newUUID()
	}
	w.Header().Set("apns-id", apnsID)

	if r.ProtoMajor < 2 {
		// APNs speaks HTTP/2 only (a real HTTP/1 client fails at ALPN).
		reject(w, http.StatusHTTPVersionNotSupported, ReasonHTTP2Required, now)
		return
	}
	if r.Method != http.MethodPost {
		reject(w, http.StatusMethodNotAllowed, ReasonMethodNotAllowed, now)
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, "/3/device/")
	if !ok || strings.Contains(token, "/") {
		reject(w, http.StatusNotFound, ReasonBadPath, now)
		return
	}
	if token == "" {
		reject(w, http.StatusBadRequest, ReasonMissingDeviceToken, now)
		return
	}
	if status, reason := checkDuplicates(r.Header); status != 0 {
		reject(w, status, reason, now)
		return
	}
	status, reason, certAuth := f.auth.check(r, now)
	if status != 0 {
		reject(w, status, reason, now)
		return
	}
	if status, reason := f.checkHeaders(r.Header, certAuth); status != 0 {
		reject(w, status, reason, now)
		return
	}
	body, status, reason := readPayload(r.Body)
	if status != 0 {
		reject(w, status, reason, now)
		return
	}
	if f.cfg.Script != nil {
		if st, reason, retryAfter, ok := f.cfg.Script(token); ok && st != http.StatusOK {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			reject(w, st, reason, now)
			return
		} else if ok {
			f.accept(w, r, token, apnsID, body, now)
			return
		}
	}
	switch fake.Decide(fake.ParseBehavior(token), f.attempts.Next(token), r.Context().Done()) {
	case fake.Gone:
		reject(w, http.StatusGone, ReasonUnregistered, now)
	case fake.Invalid:
		reject(w, http.StatusBadRequest, ReasonBadDeviceToken, now)
	case fake.Throttled:
		w.Header().Set("Retry-After", "1")
		reject(w, http.StatusTooManyRequests, ReasonTooManyRequests, now)
	case fake.Unavailable:
		reject(w, http.StatusServiceUnavailable, ReasonServiceUnavailable, now)
	default:
		f.accept(w, r, token, apnsID, body, f.cfg.Now())
	}
}

func (f *Fake) accept(w http.ResponseWriter, r *http.Request, token, apnsID string, body []byte, now time.Time) {
	headers := recordedHeaders(r.Header)
	headers["apns-id"] = apnsID
	f.cfg.Recorder.Add(fake.Record{
		Channel: channels.APNs, Token: token, AppID: f.cfg.Topics[r.Header.Get("apns-topic")],
		CollapseID: r.Header.Get("apns-collapse-id"), Headers: headers,
		Payload: json.RawMessage(body), ReceivedAt: now.UTC(),
	})
	w.WriteHeader(http.StatusOK)
}

// checkDuplicates refuses a repeated APNs header.
func checkDuplicates(h http.Header) (int, string) {
	for _, k := range [...]string{"Authorization", "Apns-Topic", "Apns-Push-Type", "Apns-Priority", "Apns-Expiration", "Apns-Collapse-Id", "Apns-Id"} {
		if len(h[k]) > 1 {
			return http.StatusBadRequest, ReasonDuplicateHeaders
		}
	}
	return 0, ""
}

// checkHeaders verifies the apns-* headers.
func (f *Fake) checkHeaders(h http.Header, certAuth bool) (int, string) {
	topic := h.Get("apns-topic")
	if topic == "" {
		return http.StatusBadRequest, ReasonMissingTopic
	}
	if _, ok := f.cfg.Topics[topic]; !ok {
		if certAuth {
			return http.StatusBadRequest, ReasonBadTopic
		}
		return http.StatusBadRequest, ReasonTopicDisallowed
	}
	pushType := h.Get("apns-push-type")
	if pushType != "" && !validPushType(pushType) {
		return http.StatusBadRequest, ReasonInvalidPushType
	}
	if p := h.Get("apns-priority"); p != "" {
		if p != "10" && p != "5" && p != "1" || p == "10" && pushType == "background" {
			return http.StatusBadRequest, ReasonBadPriority
		}
	}
	if e := h.Get("apns-expiration"); e != "" {
		if n, err := strconv.ParseInt(e, 10, 64); err != nil || n < 0 {
			return http.StatusBadRequest, ReasonBadExpirationDate
		}
	}
	if id := h.Get("apns-id"); id != "" && !isUUID(id) {
		return http.StatusBadRequest, ReasonBadMessageID
	}
	if len(h.Get("apns-collapse-id")) > MaxCollapseIDSize {
		return http.StatusBadRequest, ReasonBadCollapseID
	}
	return 0, ""
}

func validPushType(t string) bool {
	switch t {
	case "alert", "background", "location", "voip", "complication", "fileprovider", "mdm",
		"liveactivity", "pushtotalk", "widgets", "controls":
		return true
	}
	return false
}

// readPayload reads a body of at most MaxPayloadSize bytes holding a JSON
// object with an "aps" dictionary.
func readPayload(r io.Reader) ([]byte, int, string) {
	body, err := io.ReadAll(io.LimitReader(r, MaxPayloadSize+1))
	if err != nil {
		return nil, http.StatusBadRequest, ReasonPayloadEmpty
	}
	if len(body) > MaxPayloadSize {
		return nil, http.StatusRequestEntityTooLarge, ReasonPayloadTooLarge
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, http.StatusBadRequest, ReasonPayloadEmpty
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, http.StatusBadRequest, ReasonBadPayload
	}
	aps := bytes.TrimSpace(top["aps"])
	if len(aps) == 0 || aps[0] != '{' {
		return nil, http.StatusBadRequest, ReasonPayloadEmpty
	}
	return body, 0, ""
}

// reject answers an APNs error: the status and {"reason": …}, with the time
// the token became invalid for 410.
func reject(w http.ResponseWriter, status int, reason string, now time.Time) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	body := map[string]any{"reason": reason}
	if status == http.StatusGone {
		body["timestamp"] = now.UnixMilli()
	}
	_ = json.NewEncoder(w).Encode(body)
}

// isUUID reports the canonical 8-4-4-4-12 hexadecimal form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return strings.ToUpper(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}
