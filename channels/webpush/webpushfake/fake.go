package webpushfake

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-oss/herald/channels/fake"
)

// Config configures a Fake. The zero value is usable.
type Config struct {
	// VAPIDKeys maps a VAPID public key (raw base64url) to the app id recorded
	// with messages signed by it. When not empty, a push with another key is
	// refused (403), as a push service refuses a key the subscription was not
	// made for.
	VAPIDKeys map[string]string
	// Recorder receives accepted messages; nil makes one keeping the last 10,000.
	Recorder *fake.Recorder
	// BaseURL is the fake's own origin ("https://127.0.0.1:8443"), used to mint
	// endpoints and as the JWT audience; it can be set later with SetBaseURL.
	// Empty: taken from each request's Host.
	BaseURL string
	// Script, when set, may answer an attempt (that passed every check) instead
	// of the token behaviours: return ok=false to leave it to them. A 2xx answer
	// records the message. It is called concurrently.
	Script func(Attempt) (reply Reply, ok bool)
	// Now is the clock for JWT expiry checks. Default time.Now.
	Now func() time.Time
}

// Attempt is a verified push, shown to Config.Script.
type Attempt struct {
	ID        string // the subscription id (the endpoint's last path segment)
	N         int    // 1 for the first attempt on this subscription
	AppID     string
	Header    http.Header
	Plaintext []byte // the decrypted payload
}

// Reply is a scripted answer.
type Reply struct {
	Status int
	Header http.Header // e.g. Retry-After
	Body   string      // defaults to autopush's JSON error for the status
}

// Fake is a Web Push service: it mints subscriptions, and accepts pushes to
// them only when the VAPID JWT verifies and the aes128gcm body decrypts.
type Fake struct {
	cfg      Config
	rec      *fake.Recorder
	now      func() time.Time
	attempts fake.Attempts
	base     atomic.Pointer[string]
	msgSeq   atomic.Uint64

	mu   sync.Mutex
	subs map[string]*subscription
}

// subscription is what the fake keeps of a minted subscription: the browser's
// side of the keys.
type subscription struct {
	priv      *ecdh.PrivateKey
	auth      []byte
	serverKey []byte // the applicationServerKey it is restricted to, if any
	gone      bool   // unsubscribed: 410 from now on
}

// New returns a Fake.
func New(cfg Config) *Fake {
	f := &Fake{cfg: cfg, rec: cfg.Recorder, now: cfg.Now, subs: map[string]*subscription{}}
	if f.rec == nil {
		f.rec = fake.NewRecorder(10000)
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.SetBaseURL(cfg.BaseURL)
	return f
}

// Recorder returns the recorder of accepted messages.
func (f *Fake) Recorder() *fake.Recorder { return f.rec }

// SetBaseURL sets the fake's origin (scheme://host[:port], no path).
func (f *Fake) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	f.base.Store(&u)
}

func (f *Fake) baseURL(r *http.Request) string {
	if b := *f.base.Load(); b != "" {
		return b
	}
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// Register mounts the push service's routes:
//
//	POST /_fake/webpush/subscribe[?behavior=word]   mint a subscription
//	DELETE /_fake/webpush/subscriptions/{id}       unsubscribe (pushes get 410)
//	POST /push/{id}                                the push endpoint
func (f *Fake) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /_fake/webpush/subscribe", f.handleSubscribe)
	mux.HandleFunc("DELETE /_fake/webpush/subscriptions/{id}", f.handleUnsubscribe)
	mux.HandleFunc("GET /_fake/webpush/subscriptions/{id}", f.handleGetSubscription)
	mux.HandleFunc("POST /push/{id}", f.handlePush)
}

// subscribeRequest is the optional body of a subscribe request.
type subscribeRequest struct {
	// ApplicationServerKey restricts the subscription to one VAPID key, as
	// PushManager.subscribe({applicationServerKey}) does.
	ApplicationServerKey string `json:"applicationServerKey"`
	Behavior             string `json:"behavior"`
}

// subscriptionJSON is a PushSubscription as a browser's toJSON() gives it.
type subscriptionJSON struct {
	Endpoint string `json:"endpoint"`
	Keys     struct {
		P256dh string `json:"p256dh"`
		Auth   string `json:"auth"`
	} `json:"keys"`
}

func (f *Fake) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	var req subscribeRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, 0, "the body must be {\"applicationServerKey\":…,\"behavior\":…} or empty")
		return
	}
	if b := r.URL.Query().Get("behavior"); b != "" {
		req.Behavior = b
	}
	var serverKey []byte
	if req.ApplicationServerKey != "" {
		serverKey, err = decodeB64(req.ApplicationServerKey)
		if err == nil {
			_, err = ecdh.P256().NewPublicKey(serverKey)
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, 0, "applicationServerKey must be a base64url uncompressed P-256 point")
			return
		}
	}
	sub, err := f.subscribe(f.baseURL(r), req.Behavior, serverKey)
	if err != nil {
		writeError(w, http.StatusBadRequest, 0, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(sub))
}

// NewSubscription mints a subscription without HTTP and returns its
// PushSubscription JSON. behavior is empty or words of fake.ParseBehavior
// ("unregistered", "slow-flaky"), embedded in the endpoint's id.
func (f *Fake) NewSubscription(behavior string) (string, error) {
	b := *f.base.Load()
	if b == "" {
		return "", errors.New("webpushfake: no base URL set")
	}
	return f.subscribe(b, behavior, nil)
}

// NewRestrictedSubscription is NewSubscription for a subscription made with an
// applicationServerKey (raw base64url): pushes signed with another key get 403.
func (f *Fake) NewRestrictedSubscription(behavior, applicationServerKey string) (string, error) {
	key, err := decodeB64(applicationServerKey)
	if err == nil {
		_, err = ecdh.P256().NewPublicKey(key)
	}
	if err != nil {
		return "", fmt.Errorf("webpushfake: applicationServerKey: %w", err)
	}
	b := *f.base.Load()
	if b == "" {
		return "", errors.New("webpushfake: no base URL set")
	}
	return f.subscribe(b, behavior, key)
}

func (f *Fake) subscribe(base, behavior string, serverKey []byte) (string, error) {
	behavior = strings.ToLower(behavior)
	if len(behavior) > 64 || strings.Trim(behavior, "abcdefghijklmnopqrstuvwxyz-") != "" {
		return "", errors.New("behavior must be words of letters joined by '-' (unregistered, baddevice, throttle, flaky, slow)")
	}
	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("webpushfake: key: %w", err)
	}
	auth := make([]byte, 16)
	idBytes := make([]byte, 16)
	_, _ = rand.Read(auth)
	_, _ = rand.Read(idBytes)
	id := hex.EncodeToString(idBytes)
	if behavior != "" {
		id = behavior + "-" + id
	}
	f.mu.Lock()
	f.subs[id] = &subscription{priv: priv, auth: auth, serverKey: serverKey}
	f.mu.Unlock()
	var s subscriptionJSON
	s.Endpoint = base + "/push/" + id
	s.Keys.P256dh = base64.RawURLEncoding.EncodeToString(priv.PublicKey().Bytes())
	s.Keys.Auth = base64.RawURLEncoding.EncodeToString(auth)
	out, err := json.Marshal(s)
	return string(out), err
}

// Unsubscribe makes a subscription gone: pushes to it get 410. It reports
// whether the id was known.
func (f *Fake) Unsubscribe(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if ok {
		s.gone = true
	}
	return ok
}

func (f *Fake) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if !f.Unsubscribe(r.PathValue("id")) {
		writeError(w, http.StatusNotFound, errnoNotFound, "no such subscription")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleGetSubscription answers a minted subscription's PushSubscription JSON,
// so a tool holding only the endpoint's last path segment can send to it.
func (f *Fake) handleGetSubscription(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	sub, ok := f.lookup(id)
	if !ok {
		writeError(w, http.StatusNotFound, errnoNotFound, "no such subscription")
		return
	}
	var out subscriptionJSON
	out.Endpoint = f.baseURL(r) + "/push/" + id
	out.Keys.P256dh = base64.RawURLEncoding.EncodeToString(sub.priv.PublicKey().Bytes())
	out.Keys.Auth = base64.RawURLEncoding.EncodeToString(sub.auth)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (f *Fake) lookup(id string) (subscription, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if !ok {
		return subscription{}, false
	}
	return *s, true
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}
