package profiles

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/herald-oss/herald/sdkauth"
)

// Sealer encrypts credentials at rest (package seal provides one).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// ErrNoEncryptionKey is returned when credentials are set but no encryption key
// is configured.
var ErrNoEncryptionKey = errors.New("no encryption key configured (security.encryption_key): credentials cannot be stored")

// AppStore is where AppService keeps apps: Apps and their SDK authentication
// settings (package store implements it).
type AppStore interface {
	Apps
	// SetAppSDKAuth replaces an app's SDK authentication settings (ErrNotFound).
	SetAppSDKAuth(ctx context.Context, id string, a SDKAuth, now time.Time) error
}

// AppService manages apps and their credentials.
type AppService struct {
	store  AppStore
	sealer Sealer // nil: credentials cannot be stored
	now    func() time.Time
	// verifiers caches each app's SDK token verifier (app id →
	// *verifierEntry), rebuilt when the stored key changes.
	verifiers sync.Map
	// byKey caches apps by SDK key (string → sdkKeyEntry) for sdkKeyTTL: every
	// SDK request names its app.
	byKey sync.Map
}

// sdkKeyTTL bounds how long a change to an app (its SDK authentication
// settings) takes to reach SDK requests.
const sdkKeyTTL = 10 * time.Second

type sdkKeyEntry struct {
	app *App
	at  time.Time
}

// NewAppService returns an AppService. sealer may be nil when no encryption key
// is configured; then setting credentials fails with ErrNoEncryptionKey.
func NewAppService(store AppStore, sealer Sealer, now func() time.Time) *AppService {
	if now == nil {
		now = time.Now
	}
	return &AppService{store: store, sealer: sealer, now: now}
}

func randomKey(prefix string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// Create creates an app; an empty id is generated from the name.
func (s *AppService) Create(ctx context.Context, id, name, platform string) (*App, error) {
	if id == "" {
		id = slug(name) + "-" + strings.ToLower(randomKey("", 4))[:6]
	}
	if err := ValidateApp(id, name, platform); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	a := &App{ID: id, Name: name, Platform: platform, SDKKey: randomKey("hsk_", 24), Source: "api", CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateApp(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

func slug(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "app"
	}
	return s
}

// List returns every app.
func (s *AppService) List(ctx context.Context) ([]*App, error) { return s.store.ListApps(ctx) }

// BySDKKey returns the app a public SDK key belongs to (ErrNotFound).
// Apps are cached for sdkKeyTTL; an unknown key is looked up every time.
func (s *AppService) BySDKKey(ctx context.Context, key string) (*App, error) {
	now := s.now()
	if e, ok := s.byKey.Load(key); ok && now.Sub(e.(sdkKeyEntry).at) < sdkKeyTTL {
		return e.(sdkKeyEntry).app, nil
	}
	a, err := s.store.AppBySDKKey(ctx, key)
	if err != nil {
		return nil, err
	}
	s.byKey.Store(key, sdkKeyEntry{app: a, at: now})
	return a, nil
}

// Get returns one app.
func (s *AppService) Get(ctx context.Context, id string) (*App, error) {
	return s.store.GetApp(ctx, id)
}

// SetCredentials validates credentials against the app's platform, seals them and
// stores them, replacing any previous ones.
func (s *AppService) SetCredentials(ctx context.Context, id string, c *Credentials) (*App, error) {
	defer s.byKey.Clear() // this process sees the change at once; others within sdkKeyTTL
	a, err := s.store.GetApp(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(a.Platform); err != nil {
		return nil, err
	}
	sealed, err := s.seal(id, c)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetAppCredentials(ctx, id, sealed, c.Kinds(), s.now().UTC()); err != nil {
		return nil, err
	}
	return s.store.GetApp(ctx, id)
}

func (s *AppService) seal(id string, c *Credentials) ([]byte, error) {
	if s.sealer == nil {
		return nil, ErrNoEncryptionKey
	}
	pt, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode credentials: %w", err)
	}
	return s.sealer.Seal(pt, []byte("app:"+id))
}

// Declare creates or updates an app declared in the config file, with its
// credentials (nil for none).
func (s *AppService) Declare(ctx context.Context, id, name, platform string, c *Credentials) error {
	return s.DeclareApp(ctx, AppDeclaration{ID: id, Name: name, Platform: platform, Credentials: c})
}

// AppDeclaration is an app as the config file declares it.
type AppDeclaration struct {
	ID, Name, Platform string
	// Credentials are nil for none: the app keeps those set through the API.
	Credentials *Credentials
	// SDKAuth is nil when not declared: the app keeps the settings made
	// through the API; declared, it replaces them.
	SDKAuth *SDKAuthSettings
}

// DeclareApp creates or updates an app declared in the config file.
func (s *AppService) DeclareApp(ctx context.Context, d AppDeclaration) error {
	defer s.byKey.Clear() // this process sees the change at once; others within sdkKeyTTL
	id, name, platform, c := d.ID, d.Name, d.Platform, d.Credentials
	if name == "" {
		name = id
	}
	if err := ValidateApp(id, name, platform); err != nil {
		return err
	}
	now := s.now().UTC()
	a := &App{ID: id, Name: name, Platform: platform, SDKKey: randomKey("hsk_", 24), Source: "config", CreatedAt: now, UpdatedAt: now}
	if c != nil {
		if err := c.Validate(platform); err != nil {
			return err
		}
		sealed, err := s.seal(id, c)
		if err != nil {
			return err
		}
		a.Sealed, a.Kinds = sealed, c.Kinds()
	}
	if d.SDKAuth != nil {
		if err := d.SDKAuth.Validate(""); err != nil {
			return err
		}
		auth, err := s.sdkAuth(id, d.SDKAuth, SDKAuth{})
		if err != nil {
			return err
		}
		a.SDKAuth = auth
	}
	return s.store.UpsertApp(ctx, a)
}

// Credentials opens an app's sealed credentials (for the senders); nil when the
// app has none.
func (s *AppService) Credentials(ctx context.Context, id string) (*Credentials, error) {
	a, err := s.store.GetApp(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(a.Sealed) == 0 {
		return nil, nil
	}
	if s.sealer == nil {
		return nil, ErrNoEncryptionKey
	}
	pt, err := s.sealer.Open(a.Sealed, []byte("app:"+id))
	if err != nil {
		return nil, fmt.Errorf("app %s credentials: %w", id, err)
	}
	var c Credentials
	if err := json.Unmarshal(pt, &c); err != nil {
		return nil, fmt.Errorf("app %s credentials: %w", id, err)
	}
	return &c, nil
}

// SetSDKAuth validates and stores an app's SDK authentication settings,
// replacing the previous ones. A setting without a key keeps the stored key
// of the same algorithm (to change the mode only); the HS256 secret is sealed.
func (s *AppService) SetSDKAuth(ctx context.Context, id string, in *SDKAuthSettings) (*App, error) {
	defer s.byKey.Clear() // this process sees the change at once; others within sdkKeyTTL
	a, err := s.store.GetApp(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := in.Validate(a.SDKAuth.Algorithm); err != nil {
		return nil, err
	}
	auth, err := s.sdkAuth(id, in, a.SDKAuth)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetAppSDKAuth(ctx, id, auth, s.now().UTC()); err != nil {
		return nil, err
	}
	return s.store.GetApp(ctx, id)
}

// sdkAuth turns validated settings into their stored form, keeping cur's key
// when none is given.
func (s *AppService) sdkAuth(id string, in *SDKAuthSettings, cur SDKAuth) (SDKAuth, error) {
	out := SDKAuth{Mode: in.Mode, Algorithm: in.Algorithm}
	switch in.Algorithm {
	case sdkauth.HS256:
		if in.Secret == "" {
			out.SealedSecret = cur.SealedSecret
			break
		}
		if s.sealer == nil {
			return SDKAuth{}, ErrNoEncryptionKey
		}
		sealed, err := s.sealer.Seal([]byte(in.Secret), sdkSecretAD(id))
		if err != nil {
			return SDKAuth{}, fmt.Errorf("seal the SDK auth secret: %w", err)
		}
		out.SealedSecret = sealed
	case sdkauth.RS256:
		out.PublicKey = strings.TrimSpace(in.PublicKey) + "\n"
		if in.PublicKey == "" {
			out.PublicKey = cur.PublicKey
		}
	}
	return out, nil
}

// sdkSecretAD binds a sealed SDK auth secret to its app and its purpose, so
// neither another app's secret nor the app's credentials can stand in for it.
func sdkSecretAD(id string) []byte { return []byte("app-sdk-auth:" + id) }

type verifierEntry struct {
	alg, key string // the stored key: the sealed secret or the PEM
	v        *sdkauth.Verifier
}

// VerifySDKToken verifies an SDK auth token against the app's key. A token the
// app refuses is an *sdkauth.Error; any other error is the server's (an
// unreadable key, no encryption key). An app without a key refuses every
// token.
func (s *AppService) VerifySDKToken(a *App, token string) (*sdkauth.Claims, error) {
	v, err := s.verifier(a)
	if err != nil {
		return nil, err
	}
	return v.Verify(token, s.now())
}

func (s *AppService) verifier(a *App) (*sdkauth.Verifier, error) {
	key := a.SDKAuth.PublicKey
	if a.SDKAuth.Algorithm == sdkauth.HS256 {
		key = string(a.SDKAuth.SealedSecret)
	}
	if e, ok := s.verifiers.Load(a.ID); ok {
		if e := e.(*verifierEntry); e.alg == a.SDKAuth.Algorithm && e.key == key {
			return e.v, nil
		}
	}
	var v *sdkauth.Verifier
	var err error
	switch a.SDKAuth.Algorithm {
	case sdkauth.HS256:
		if s.sealer == nil {
			return nil, ErrNoEncryptionKey
		}
		secret, oerr := s.sealer.Open(a.SDKAuth.SealedSecret, sdkSecretAD(a.ID))
		if oerr != nil {
			return nil, fmt.Errorf("app %s SDK auth secret: %w", a.ID, oerr)
		}
		v, err = sdkauth.NewHS256(secret)
	case sdkauth.RS256:
		v, err = sdkauth.NewRS256([]byte(a.SDKAuth.PublicKey))
	default:
		return nil, fmt.Errorf("app %s has SDK authentication mode %s but no key", a.ID, a.SDKAuth.Mode)
	}
	if err != nil {
		return nil, fmt.Errorf("app %s SDK auth key: %w", a.ID, err)
	}
	s.verifiers.Store(a.ID, &verifierEntry{alg: a.SDKAuth.Algorithm, key: key, v: v})
	return v, nil
}
