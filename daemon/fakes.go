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
	"net/http"
	"os"
	"path/filepath"
	"strings"

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

// fakeApps names the apps the fakes attribute messages to.
type fakeApps struct{ ios, android, web string }

// fakeProviders runs the APNs, FCM and Web Push fakes on one TLS listener and
// holds credentials they accept.
type fakeProviders struct {
	apps     fakeApps
	l        *fake.Listener
	base     string
	ca       *fake.CA
	recorder *fake.Recorder
	web      *webpushfake.Fake

	p8PEM     []byte
	saJSON    []byte
	vapidPub  string
	vapidPriv string
}

// newFakeProviders builds the three fakes with fresh credentials and serves
// them on addr.
func newFakeProviders(addr string, log *slog.Logger, apps fakeApps) (*fakeProviders, error) {
	f := &fakeProviders{apps: apps, recorder: fake.NewRecorder(10000)}
	// APNs: an ES256 signing key the fake trusts
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	f.p8PEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	// Web Push: a VAPID pair the push service attributes to fake-web
	if f.vapidPub, f.vapidPriv, err = webpush.GenerateVAPIDKeys(); err != nil {
		return nil, err
	}
	var mountErr error
	f.l, err = fake.Listen(fake.ListenOptions{Addr: addr, MaxConcurrentStreams: 1000, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)},
		func(origin string, mux *http.ServeMux) {
			f.base = origin
			apnsfake.New(apnsfake.Config{Keys: map[string]*ecdsa.PublicKey{fakeKeyID: &key.PublicKey}, TeamID: fakeTeamID,
				Topics: map[string]string{fakeTopic: apps.ios}, Recorder: f.recorder}).Register(mux)
			// FCM: a service account whose token_uri is the fake's OAuth endpoint
			sa, email, pub, err := fcmfake.NewServiceAccount(fakeProject, origin+fcmfake.DefaultTokenPath)
			if err != nil {
				mountErr = err
				return
			}
			f.saJSON = sa
			fcmfake.New(fcmfake.Config{Projects: map[string]string{fakeProject: apps.android},
				ServiceAccounts: map[string]*rsa.PublicKey{email: pub}, Recorder: f.recorder}).Register(mux)
			f.web = webpushfake.New(webpushfake.Config{VAPIDKeys: map[string]string{f.vapidPub: apps.web}, Recorder: f.recorder, BaseURL: origin})
			f.web.Register(mux)
			mux.Handle("/_fake/messages", f.recorder.Handler())
		})
	if err != nil {
		return nil, fmt.Errorf("fake providers: %w", err)
	}
	if mountErr != nil {
		_ = f.l.Close()
		return nil, mountErr
	}
	f.ca = f.l.CA
	return f, nil
}

// Name implements component.
func (f *fakeProviders) Name() string { return "fake-providers" }

// Start implements component: the fakes serve from construction on.
func (f *fakeProviders) Start(context.Context) error { return nil }

// Stop stops serving, waiting for requests in flight until ctx is done.
func (f *fakeProviders) Stop(ctx context.Context) error { return f.l.Shutdown(ctx) }

// credentials returns the credentials of the three fake apps.
func (f *fakeProviders) credentials() map[string]*profiles.Credentials {
	return map[string]*profiles.Credentials{
		f.apps.ios: {APNs: &profiles.APNsCredentials{KeyP8: string(f.p8PEM), KeyID: fakeKeyID, TeamID: fakeTeamID,
			Topic: fakeTopic, Environment: "sandbox", Host: f.base}},
		f.apps.android: {FCM: &profiles.FCMCredentials{ServiceAccountJSON: f.saJSON, ProjectID: fakeProject, Endpoint: f.base + "/v1"}},
		f.apps.web:     {WebPush: &profiles.WebPushCredentials{VAPIDPublicKey: f.vapidPub, VAPIDPrivateKey: f.vapidPriv, Subject: fakeSubject}},
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
`, f.base, filepath.Base(path), base, name("encryption.key"), name("ca.pem"), f.apps.ios, name("apns-key.p8"), fakeKeyID, fakeTeamID,
		fakeTopic, f.apps.android, name("fcm-service-account.json"), f.apps.web, f.vapidPub, name("vapid-private.key"), fakeSubject)
	return os.WriteFile(path, []byte(cfg), 0o600)
}
