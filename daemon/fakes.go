package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
	"github.com/herald-oss/herald/profiles"
)

// Fake apps and the credentials the fakes accept.
const (
	fakeIOS, fakeAndroid, fakeWeb = "fake-ios", "fake-android", "fake-web"
	fakeKeyID, fakeTeamID         = "FAKEKEY001", "FAKETEAM01"
	fakeTopic                     = "dev.herald.fake"
	fakeProject                   = "herald-fake"
	fakeSubject                   = "ops@herald.invalid"
)

// fakeProviders runs the APNs, FCM and Web Push fakes on one TLS listener and
// holds credentials they accept.
type fakeProviders struct {
	ln       net.Listener
	base     string
	ca       *fake.CA
	recorder *fake.Recorder
	web      *webpushfake.Fake
	srv      *http.Server

	p8PEM     []byte
	saJSON    []byte
	vapidPub  string
	vapidPriv string
	errc      chan error
}

// newFakeProviders listens on addr and builds the three fakes with fresh
// credentials. Start serves them.
func newFakeProviders(addr string, log *slog.Logger) (*fakeProviders, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fake providers: listen on %s: %w", addr, err)
	}
	f := &fakeProviders{ln: ln, base: "https://" + ln.Addr().String(), recorder: fake.NewRecorder(10000), errc: make(chan error, 1)}
	if err := f.build(log); err != nil {
		ln.Close()
		return nil, err
	}
	return f, nil
}

func (f *fakeProviders) build(log *slog.Logger) error {
	var err error
	if f.ca, err = fake.NewCA(); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(f.ln.Addr().String())
	tlsCfg, err := f.ca.ServerConfig(host)
	if err != nil {
		return err
	}
	// APNs: an ES256 signing key the fake trusts
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	f.p8PEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	apnsFake := apnsfake.New(apnsfake.Config{Keys: map[string]*ecdsa.PublicKey{fakeKeyID: &key.PublicKey}, TeamID: fakeTeamID,
		Topics: map[string]string{fakeTopic: fakeIOS}, Recorder: f.recorder})
	// FCM: a service account whose token_uri is the fake's OAuth endpoint
	sa, email, pub, err := fcmfake.NewServiceAccount(fakeProject, f.base+fcmfake.DefaultTokenPath)
	if err != nil {
		return err
	}
	f.saJSON = sa
	fcmFake := fcmfake.New(fcmfake.Config{Projects: map[string]string{fakeProject: fakeAndroid},
		ServiceAccounts: map[string]*rsa.PublicKey{email: pub}, Recorder: f.recorder})
	// Web Push: a VAPID pair the push service attributes to fake-web
	if f.vapidPub, f.vapidPriv, err = webpush.GenerateVAPIDKeys(); err != nil {
		return err
	}
	f.web = webpushfake.New(webpushfake.Config{VAPIDKeys: map[string]string{f.vapidPub: fakeWeb}, Recorder: f.recorder, BaseURL: f.base})

	mux := http.NewServeMux()
	apnsFake.Register(mux)
	fcmFake.Register(mux)
	f.web.Register(mux)
	mux.Handle("/_fake/messages", f.recorder.Handler())
	f.srv = &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	return nil
}

// Name implements component.
func (f *fakeProviders) Name() string { return "fake-providers" }

// Start serves the fakes.
func (f *fakeProviders) Start(context.Context) error {
	go func() {
		if err := f.srv.ServeTLS(f.ln, "", ""); err != nil && err != http.ErrServerClosed {
			f.errc <- err
		}
	}()
	return nil
}

// Stop stops serving.
func (f *fakeProviders) Stop(ctx context.Context) error {
	if err := f.srv.Shutdown(ctx); err != nil {
		return f.srv.Close()
	}
	return nil
}

// credentials returns the credentials of the three fake apps.
func (f *fakeProviders) credentials() map[string]*profiles.Credentials {
	return map[string]*profiles.Credentials{
		fakeIOS: {APNs: &profiles.APNsCredentials{KeyP8: string(f.p8PEM), KeyID: fakeKeyID, TeamID: fakeTeamID,
			Topic: fakeTopic, Environment: "sandbox", Host: f.base}},
		fakeAndroid: {FCM: &profiles.FCMCredentials{ServiceAccountJSON: f.saJSON, ProjectID: fakeProject, Endpoint: f.base + "/v1"}},
		fakeWeb:     {WebPush: &profiles.WebPushCredentials{VAPIDPublicKey: f.vapidPub, VAPIDPrivateKey: f.vapidPriv, Subject: fakeSubject}},
	}
}

// writeConfig writes a complete Herald config whose apps point at the fakes,
// with the credential files beside it.
func (f *fakeProviders) writeConfig(path string) error {
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	name := func(suffix string) string { return base + "-" + suffix }
	files := map[string][]byte{
		name("ca.pem"):                   f.ca.PEM(),
		name("apns-key.p8"):              f.p8PEM,
		name("fcm-service-account.json"): f.saJSON,
		name("vapid-private.key"):        []byte(f.vapidPriv + "\n"),
		name("encryption.key"):           []byte(base64.StdEncoding.EncodeToString(randomBytes(32)) + "\n"),
	}
	for n, data := range files {
		if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", n, err)
		}
	}
	cfg := fmt.Sprintf(`# Written by herald fakes: apps whose providers are the fakes at %[1]s.
# Run: herald migrate -c %[2]s && herald all -c %[2]s   (or herald send-test -c %[2]s ...)
store:
  driver: sqlite
  sqlite:
    path: %[3]s-data/herald.db
  auto_migrate: true
security:
  encryption_key_file: %[4]s
providers:
  ca_file: %[5]s
  webpush:
    allow_loopback: true
apps:
  - id: %[6]s
    name: Fake iOS
    platform: ios
    apns:
      key_file: %[7]s
      key_id: %[8]s
      team_id: %[9]s
      topic: %[10]s
      environment: sandbox
      host: %[1]s
  - id: %[11]s
    name: Fake Android
    platform: android
    fcm:
      service_account_file: %[12]s
      endpoint: %[1]s/v1
  - id: %[13]s
    name: Fake Web
    platform: web
    webpush:
      vapid_public_key: %[14]s
      vapid_private_key_file: %[15]s
      subject: %[16]s
`, f.base, filepath.Base(path), base, name("encryption.key"), name("ca.pem"), fakeIOS, name("apns-key.p8"), fakeKeyID, fakeTeamID,
		fakeTopic, fakeAndroid, name("fcm-service-account.json"), fakeWeb, f.vapidPub, name("vapid-private.key"), fakeSubject)
	return os.WriteFile(path, []byte(cfg), 0o600)
}
