package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// The apps the fakes serve and the credentials they accept.
const (
	appIOS, appAndroid, appWeb = "bench-ios", "bench-android", "bench-web"
	fakeKeyID, fakeTeamID      = "BENCHKEY01", "BENCHTEAM1"
	fakeTopic                  = "dev.herald.bench"
	fakeProject                = "herald-bench"
	fakeSubject                = "ops@herald.invalid"
)

// fakes runs the APNs, FCM and Web Push fakes in the harness's process on one
// TLS listener (HTTP/2), so the harness reads what they accepted from their
// recorder directly instead of fetching every payload over HTTP. The
// recorder keeps everything until drained: drain takes the records out under
// a gate that holds requests back for that instant, so none is lost between
// listing and clearing.
type fakes struct {
	l    *fake.Listener
	base string
	rec  *fake.Recorder
	web  *webpushfake.Fake

	// gate is held shared by every request and exclusively by drain.
	gate sync.RWMutex
	// requests counts provider requests (sends, not OAuth or subscribe
	// calls) by channel, accepted or not.
	requests [numChannels]atomic.Int64
	// storming: the fakes answer a third of the send attempts that passed
	// verification with 429 (Retry-After: 1) or 503 instead (setStorm).
	storming atomic.Bool
	stormSeq atomic.Uint64
	stormed  atomic.Int64
	// deadMu guards deadAttempts: send attempts that passed verification,
	// per unregistered token (APNs and FCM token, web subscription id).
	deadMu       sync.Mutex
	deadAttempts map[string]int

	apnsKey   *ecdsa.PrivateKey
	p8PEM     []byte
	saJSON    []byte
	vapidPub  string
	vapidPriv string
}

// Channels as the fakes record them, and their index in per-channel arrays.
const (
	chAPNs = iota
	chFCM
	chWeb
	numChannels
)

var channelNames = [numChannels]string{"apns", "fcm", "webpush"}

// startFakes generates credentials and serves the three fakes on a free
// loopback port.
func startFakes() (*fakes, error) {
	f := &fakes{rec: fake.NewRecorder(0), deadAttempts: map[string]int{}}
	var err error
	if f.apnsKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(f.apnsKey)
	if err != nil {
		return nil, err
	}
	f.p8PEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if f.vapidPub, f.vapidPriv, err = webpush.GenerateVAPIDKeys(); err != nil {
		return nil, err
	}
	var mountErr error
	f.l, err = fake.Listen(fake.ListenOptions{MaxConcurrentStreams: 1000}, func(origin string, mux *http.ServeMux) {
		f.base = origin
		inner := http.NewServeMux()
		apnsfake.New(apnsfake.Config{Keys: map[string]*ecdsa.PublicKey{fakeKeyID: &f.apnsKey.PublicKey}, TeamID: fakeTeamID,
			Topics: map[string]string{fakeTopic: appIOS}, Recorder: f.rec, Script: f.apnsScript}).Register(inner)
		sa, email, pub, err := fcmfake.NewServiceAccount(fakeProject, origin+fcmfake.DefaultTokenPath)
		if err != nil {
			mountErr = err
			return
		}
		f.saJSON = sa
		fcmfake.New(fcmfake.Config{Projects: map[string]string{fakeProject: appAndroid},
			ServiceAccounts: map[string]*rsa.PublicKey{email: pub}, Recorder: f.rec, Script: f.fcmScript}).Register(inner)
		f.web = webpushfake.New(webpushfake.Config{VAPIDKeys: map[string]string{f.vapidPub: appWeb}, Recorder: f.rec, BaseURL: origin,
			Script: f.webScript})
		f.web.Register(inner)
		mux.Handle("/", f.gated(inner))
	})
	if err != nil {
		return nil, fmt.Errorf("fake providers: %w", err)
	}
	if mountErr != nil {
		_ = f.l.Close()
		return nil, fmt.Errorf("fake providers: %w", mountErr)
	}
	return f, nil
}

// gated serves h under the shared gate and counts provider requests.
func (f *fakes) gated(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/3/device/"):
			f.requests[chAPNs].Add(1)
		case strings.HasSuffix(p, "/messages:send"):
			f.requests[chFCM].Add(1)
		case strings.HasPrefix(p, "/push/"):
			f.requests[chWeb].Add(1)
		}
		f.gate.RLock()
		defer f.gate.RUnlock()
		h.ServeHTTP(w, r)
	})
}

// drain returns the records accepted since the last drain, oldest first.
func (f *fakes) drain() []fake.Record {
	f.gate.Lock()
	defer f.gate.Unlock()
	recs := f.rec.List()
	f.rec.Clear()
	return recs
}

// requestCounts returns the provider requests so far, by channel.
func (f *fakes) requestCounts() [numChannels]int64 {
	var out [numChannels]int64
	for i := range out {
		out[i] = f.requests[i].Load()
	}
	return out
}

func (f *fakes) close() error { return f.l.Close() }

// appsConfig writes the credential files into dir and returns the config
// sections declaring one app per platform, pointed at the fakes.
func (f *fakes) appsConfig(dir string) (*appsConfig, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	files := map[string][]byte{
		"fakes-ca.pem":             f.l.CA.PEM(),
		"apns-key.p8":              f.p8PEM,
		"fcm-service-account.json": f.saJSON,
		"vapid-private.key":        []byte(f.vapidPriv + "\n"),
		"encryption.key":           []byte(base64.StdEncoding.EncodeToString(key) + "\n"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	return &appsConfig{
		Security: map[string]any{"encryption_key_file": path("encryption.key")},
		Providers: map[string]any{
			"ca_file": path("fakes-ca.pem"),
			"webpush": map[string]any{"allow_loopback": true},
		},
		Apps: []map[string]any{
			{"id": appIOS, "platform": "ios", "apns": map[string]any{"key_file": path("apns-key.p8"), "key_id": fakeKeyID,
				"team_id": fakeTeamID, "topic": fakeTopic, "environment": "sandbox", "host": f.base}},
			{"id": appAndroid, "platform": "android", "fcm": map[string]any{"service_account_file": path("fcm-service-account.json"),
				"endpoint": f.base + "/v1"}},
			{"id": appWeb, "platform": "web", "webpush": map[string]any{"vapid_public_key": f.vapidPub,
				"vapid_private_key_file": path("vapid-private.key"), "subject": fakeSubject}},
		},
	}, nil
}
