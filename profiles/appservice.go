package profiles

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sealer encrypts credentials at rest (package seal provides one).
type Sealer interface {
	Seal(plaintext, ad []byte) ([]byte, error)
	Open(sealed, ad []byte) ([]byte, error)
}

// ErrNoEncryptionKey is returned when credentials are set but no encryption key
// is configured.
var ErrNoEncryptionKey = errors.New("no encryption key configured (security.encryption_key): credentials cannot be stored")

// AppService manages apps and their credentials.
type AppService struct {
	store  Apps
	sealer Sealer // nil: credentials cannot be stored
	now    func() time.Time
}

// NewAppService returns an AppService. sealer may be nil when no encryption key
// is configured; then setting credentials fails with ErrNoEncryptionKey.
func NewAppService(store Apps, sealer Sealer, now func() time.Time) *AppService {
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
func (s *AppService) BySDKKey(ctx context.Context, key string) (*App, error) {
	return s.store.AppBySDKKey(ctx, key)
}

// Get returns one app.
func (s *AppService) Get(ctx context.Context, id string) (*App, error) {
	return s.store.GetApp(ctx, id)
}

// SetCredentials validates credentials against the app's platform, seals them and
// stores them, replacing any previous ones.
func (s *AppService) SetCredentials(ctx context.Context, id string, c *Credentials) (*App, error) {
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
