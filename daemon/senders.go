package daemon

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns"
	"github.com/herald-oss/herald/channels/fcm"
	"github.com/herald-oss/herald/channels/webhook"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
)

// senders builds, on first use, one channel sender per app from the app's
// stored credentials, wrapped so a credential error pauses that app's channel.
type senders struct {
	apps    *profiles.AppService
	cfg     config.Providers
	roots   *x509.CertPool
	log     *slog.Logger
	paused  *prometheus.CounterVec
	latency *prometheus.HistogramVec

	// webhook sends every campaign webhook: it needs no app's credentials.
	webhook *webhook.Sender

	mu    sync.Mutex
	byApp map[string]*appSender
}

type appSender struct {
	mu       sync.Mutex // held while the app's sender is looked up or built
	sender   *channels.Pausable
	platform string
	channel  string
	digest   [sha256.Size]byte // of the platform and credentials the sender was built from
	err      error             // the last build's failure, served until the next check
	checked  time.Time         // when the store was last read
}

// recheck is how often a cached sender checks whether its app's credentials
// changed (a changed app gets a new sender, unpaused).
const recheck = 10 * time.Second

func newSenders(cfg *config.Config, apps *profiles.AppService, log *slog.Logger, reg prometheus.Registerer) (*senders, error) {
	roots, err := providerRoots(cfg)
	if err != nil {
		return nil, err
	}
	s := &senders{apps: apps, cfg: cfg.Providers, roots: roots, log: log, byApp: map[string]*appSender{},
		paused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "herald_channel_pauses_total", Help: "Times an app's channel was paused after its provider refused Herald's credentials or environment.",
		}, []string{"channel"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "herald_send_duration_seconds", Help: "Provider round-trip latency by channel.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"channel"}),
	}
	for _, ch := range []string{channels.APNs, channels.FCM, channels.WebPush} {
		s.paused.WithLabelValues(ch)
		s.latency.WithLabelValues(ch)
	}
	hookLatency := s.latency.WithLabelValues(channels.Webhook)
	w := cfg.Providers.Webhook
	s.webhook = webhook.New(webhook.Options{Timeout: w.Timeout, MaxInFlight: w.MaxInFlight, AllowPrivate: w.AllowPrivate,
		RootCAs: roots, Logger: log, Observe: func(d time.Duration) { hookLatency.Observe(d.Seconds()) }})
	if reg != nil {
		reg.MustRegister(s.paused, s.latency)
	}
	return s, nil
}

// providerRoots returns the system roots plus providers.ca_file, or nil (the
// system roots) when no extra CA is configured.
func providerRoots(cfg *config.Config) (*x509.CertPool, error) {
	if cfg.Providers.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cfg.Path(cfg.Providers.CAFile))
	if err != nil {
		return nil, fmt.Errorf("providers.ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("providers.ca_file: the system roots, to which it is added, cannot be loaded: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("providers.ca_file: no PEM certificate in %s", cfg.Providers.CAFile)
	}
	return pool, nil
}

// webPolicy is the endpoint allow-list for Web Push subscriptions.
func webPolicy(cfg *config.Config) webpush.EndpointPolicy {
	return webpush.EndpointPolicy{AllowedHosts: cfg.Providers.WebPush.AllowedHosts, AllowLoopback: cfg.Providers.WebPush.AllowLoopback}
}

// For returns the sender of an app (building it on first use, and again when
// the app's credentials changed) and the app's platform. Lookups of one app are
// serialized; other apps are not held up by a slow build. A failed build is
// remembered for the recheck interval; when the store cannot be read, the
// sender already built is served.
func (s *senders) For(ctx context.Context, appID string) (channels.Sender, string, error) {
	s.mu.Lock()
	a := s.byApp[appID]
	if a == nil {
		a = &appSender{}
		s.byApp[appID] = a
	}
	s.mu.Unlock()

	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	if now.Sub(a.checked) < recheck && (a.sender != nil || a.err != nil) {
		if a.sender == nil {
			return nil, "", a.err
		}
		return a.sender, a.platform, nil
	}
	app, creds, err := s.load(ctx, appID)
	switch {
	case errors.Is(err, profiles.ErrNotFound):
		s.evict(appID, a)
		return nil, "", fmt.Errorf("app %s: %w", appID, err)
	case err != nil && a.sender != nil:
		s.log.Warn("senders: cannot read the app's credentials; using the sender already built", "app_id", appID, "err", err)
		a.checked = now
		return a.sender, a.platform, nil
	case err != nil:
		return nil, "", err // not cached: the store may answer the next call
	}
	digest := credentialsDigest(app.Platform, creds)
	if a.sender != nil && digest == a.digest {
		a.checked = now
		return a.sender, a.platform, nil
	}
	if a.sender != nil {
		_ = a.sender.Close() // the credentials changed: the old connection goes
		a.sender = nil
	}
	a.digest, a.checked, a.platform = digest, now, app.Platform
	inner, channel, err := s.build(ctx, app.Platform, creds)
	if err != nil {
		a.err = fmt.Errorf("app %s: %w", appID, err)
		return nil, "", a.err
	}
	a.err, a.channel = nil, channel
	a.sender = channels.NewPausable(inner, appID, channel, s.pauseOptions(channel))
	return a.sender, a.platform, nil
}

// load reads an app and its credentials.
func (s *senders) load(ctx context.Context, appID string) (*profiles.App, *profiles.Credentials, error) {
	app, err := s.apps.Get(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	creds, err := s.apps.Credentials(ctx, appID)
	if err != nil {
		return nil, nil, err
	}
	if creds == nil {
		return nil, nil, fmt.Errorf("app %s has no provider credentials", appID)
	}
	return app, creds, nil
}

// evict forgets a deleted app, closing its sender. The caller holds a.mu.
func (s *senders) evict(appID string, a *appSender) {
	if a.sender != nil {
		_ = a.sender.Close()
		a.sender = nil
	}
	s.mu.Lock()
	if s.byApp[appID] == a {
		delete(s.byApp, appID)
	}
	s.mu.Unlock()
}

// credentialsDigest identifies what a sender is built from. The app's
// updated_at is no use: declaring the config's apps bumps it at every start.
func credentialsDigest(platform string, c *profiles.Credentials) [sha256.Size]byte {
	b, _ := json.Marshal(c) // plain structs of strings: cannot fail
	return sha256.Sum256(append([]byte(platform+"\x00"), b...))
}

// pauseOptions says, per channel, which answers Pausable weighs.
func (s *senders) pauseOptions(channel string) channels.PauseOptions {
	o := channels.PauseOptions{Cooldown: s.cfg.Pause, Logger: s.log,
		OnPause: func(_, ch string) { s.paused.WithLabelValues(ch).Inc() }}
	switch channel {
	case channels.APNs:
		o.IsInvalid = apns.IsInvalidToken
	case channels.FCM:
		o.IsInvalid = fcm.IsInvalidToken
	case channels.WebPush:
		o.PerToken = webpush.IsVAPIDRefusal
	}
	return o
}

func (s *senders) build(ctx context.Context, platform string, c *profiles.Credentials) (channels.Sender, string, error) {
	observe := func(ch string) func(time.Duration) {
		h := s.latency.WithLabelValues(ch)
		return func(d time.Duration) { h.Observe(d.Seconds()) }
	}
	switch {
	case platform == profiles.PlatformIOS && c.APNs != nil:
		a := c.APNs
		snd, err := apns.New(ctx, apns.Credentials{KeyP8: a.KeyP8, KeyID: a.KeyID, TeamID: a.TeamID,
			CertificateP12: a.CertificateP12, CertificatePEM: a.CertificatePEM, CertificatePassword: a.CertificatePassword,
			Topic: a.Topic, Environment: a.Environment, Host: a.Host},
			apns.Options{RootCAs: s.roots, MaxInFlight: s.cfg.APNs.MaxInFlight, Timeout: s.cfg.APNs.Timeout,
				Observe: observe(channels.APNs), Logger: s.log})
		return snd, channels.APNs, err
	case platform == profiles.PlatformAndroid && c.FCM != nil:
		snd, err := fcm.New(ctx, fcm.Credentials{ServiceAccountJSON: c.FCM.ServiceAccountJSON, ProjectID: c.FCM.ProjectID, Endpoint: c.FCM.Endpoint},
			fcm.Options{RootCAs: s.roots, MaxInFlight: s.cfg.FCM.MaxInFlight, Timeout: s.cfg.FCM.Timeout,
				Observe: observe(channels.FCM), Logger: s.log})
		return snd, channels.FCM, err
	case platform == profiles.PlatformWeb && c.WebPush != nil:
		w := c.WebPush
		snd, err := webpush.New(ctx, webpush.Credentials{VAPIDPublicKey: w.VAPIDPublicKey, VAPIDPrivateKey: w.VAPIDPrivateKey, Subject: w.Subject},
			webpush.Options{RootCAs: s.roots, MaxInFlight: s.cfg.WebPush.MaxInFlight, Timeout: s.cfg.WebPush.Timeout,
				Policy:     webpush.EndpointPolicy{AllowedHosts: s.cfg.WebPush.AllowedHosts, AllowLoopback: s.cfg.WebPush.AllowLoopback},
				DefaultTTL: s.cfg.WebPush.DefaultTTL, Observe: observe(channels.WebPush), Logger: s.log})
		return snd, channels.WebPush, err
	}
	return nil, "", fmt.Errorf("no %s credentials for a %s app", map[string]string{"ios": "APNs", "android": "FCM", "web": "Web Push"}[platform], platform)
}

// Close closes every sender built.
func (s *senders) Close() {
	_ = s.webhook.Close()
	s.mu.Lock()
	all := s.byApp
	s.byApp = map[string]*appSender{}
	s.mu.Unlock()
	for _, a := range all {
		a.mu.Lock()
		if a.sender != nil {
			_ = a.sender.Close()
			a.sender = nil
		}
		a.mu.Unlock()
	}
}
