package profiles

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/herald-oss/herald/sdkauth"
)

// App is an app users have devices in. It owns the provider credentials for its
// tokens; those are sealed at rest and never returned by the API.
type App struct {
	ID       string
	Name     string
	Platform string
	// SDKKey is the public key SDKs send in X-Herald-Api-Key.
	SDKKey string
	// Source is "config" for apps declared in the config file, "api" otherwise.
	Source string
	// Sealed holds the encrypted Credentials JSON; nil when none are set.
	Sealed []byte
	Kinds  CredentialKinds
	// SDKAuth is the app's SDK authentication (mode disabled by default).
	SDKAuth   SDKAuth
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CredentialKinds says which credentials an app has, without revealing them.
type CredentialKinds struct {
	APNs    bool `json:"apns"`
	FCM     bool `json:"fcm"`
	WebPush bool `json:"webpush"`
}

// SDKAuth is how an app's SDK requests prove which user they act for: a JWT
// signed by the customer's backend (package sdkauth), checked against the key
// kept here.
type SDKAuth struct {
	Mode sdkauth.Mode
	// Algorithm is sdkauth.HS256 or sdkauth.RS256; "" when no key is set.
	Algorithm string
	// SealedSecret is the HS256 secret, sealed like the credentials (with its
	// own associated data); nil for RS256.
	SealedSecret []byte
	// PublicKey is the RS256 public key in PEM; "" for HS256.
	PublicKey string
}

// SDKAuthSettings are SDK authentication settings as an operator gives them:
// the HS256 secret in clear, before it is sealed.
type SDKAuthSettings struct {
	Mode      sdkauth.Mode `json:"mode"`
	Algorithm string       `json:"algorithm,omitempty"`
	Secret    string       `json:"secret,omitempty"`
	PublicKey string       `json:"public_key,omitempty"`
}

// Validate checks the settings; keep is the algorithm of the key already
// stored ("" for none), which settings without a key keep using. Keys are
// parsed, so a bad one fails here and not at the first request.
func (in *SDKAuthSettings) Validate(keep string) error {
	var errs []error
	if in.Mode == "" {
		errs = append(errs, fieldErr("mode", "required: disabled, optional or required"))
	} else if !in.Mode.Valid() {
		errs = append(errs, fieldErr("mode", "must be disabled, optional or required"))
	}
	keyGiven := in.Secret != "" || in.PublicKey != ""
	switch in.Algorithm {
	case "":
		if keyGiven {
			errs = append(errs, fieldErr("algorithm", "required with a key: HS256 (secret) or RS256 (public_key)"))
		} else if in.Mode == sdkauth.Optional || in.Mode == sdkauth.Required {
			errs = append(errs, fieldErr("algorithm", "required in mode %s: HS256 (secret) or RS256 (public_key)", in.Mode))
		}
	case sdkauth.HS256:
		if in.PublicKey != "" {
			errs = append(errs, fieldErr("public_key", "HS256 takes a secret, not a public key"))
		}
		switch {
		case in.Secret != "":
			if _, err := sdkauth.NewHS256([]byte(in.Secret)); err != nil {
				errs = append(errs, fieldErr("secret", "%v", err))
			}
		case keep != sdkauth.HS256:
			errs = append(errs, fieldErr("secret", "required for HS256 (at least %d bytes; e.g. `openssl rand -base64 48`)", sdkauth.MinSecretBytes))
		}
	case sdkauth.RS256:
		if in.Secret != "" {
			errs = append(errs, fieldErr("secret", "RS256 takes a public_key, not a secret"))
		}
		switch {
		case in.PublicKey != "":
			if _, err := sdkauth.NewRS256([]byte(in.PublicKey)); err != nil {
				errs = append(errs, fieldErr("public_key", "%v", err))
			}
		case keep != sdkauth.RS256:
			errs = append(errs, fieldErr("public_key", "required for RS256: the PEM of the RSA public key (at least %d bits)", sdkauth.MinRSABits))
		}
	default:
		errs = append(errs, fieldErr("algorithm", "must be HS256 or RS256"))
	}
	return errors.Join(errs...)
}

// Credentials are an app's provider secrets. At most one kind matches the platform.
type Credentials struct {
	APNs    *APNsCredentials    `json:"apns,omitempty"`
	FCM     *FCMCredentials     `json:"fcm,omitempty"`
	WebPush *WebPushCredentials `json:"webpush,omitempty"`
}

// APNsCredentials: token auth (KeyP8 PEM, KeyID, TeamID) or certificate auth
// (CertificateP12 or CertificatePEM, optional password).
type APNsCredentials struct {
	KeyP8               string `json:"key_p8,omitempty"`
	KeyID               string `json:"key_id,omitempty"`
	TeamID              string `json:"team_id,omitempty"`
	CertificateP12      []byte `json:"certificate_p12,omitempty"`
	CertificatePEM      string `json:"certificate_pem,omitempty"`
	CertificatePassword string `json:"certificate_password,omitempty"`
	Topic               string `json:"topic"`
	Environment         string `json:"environment,omitempty"` // production (default) or sandbox
	Host                string `json:"host,omitempty"`
}

// FCMCredentials: a Google service-account JSON document.
type FCMCredentials struct {
	ServiceAccountJSON json.RawMessage `json:"service_account_json"`
	ProjectID          string          `json:"project_id,omitempty"`
	Endpoint           string          `json:"endpoint,omitempty"`
}

// WebPushCredentials: a VAPID key pair (base64url, raw) and its subject.
type WebPushCredentials struct {
	VAPIDPublicKey  string `json:"vapid_public_key"`
	VAPIDPrivateKey string `json:"vapid_private_key"`
	Subject         string `json:"subject"`
}

// Kinds reports which credentials are present.
func (c *Credentials) Kinds() CredentialKinds {
	return CredentialKinds{APNs: c.APNs != nil, FCM: c.FCM != nil, WebPush: c.WebPush != nil}
}

// FieldError is a validation problem with the field path it concerns.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var appIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidateApp checks an app's id, name and platform.
func ValidateApp(id, name, platform string) error {
	var errs []error
	if !appIDPattern.MatchString(id) {
		errs = append(errs, fieldErr("id", "must be 1-64 letters, digits, '.', '_' or '-'"))
	}
	if strings.TrimSpace(name) == "" || utf8.RuneCountInString(name) > 255 || strings.IndexByte(name, 0) >= 0 || !utf8.ValidString(name) {
		errs = append(errs, fieldErr("name", "required: valid text of at most 255 characters"))
	}
	switch platform {
	case PlatformIOS, PlatformAndroid, PlatformWeb:
	default:
		errs = append(errs, fieldErr("platform", "must be ios, android or web"))
	}
	return errors.Join(errs...)
}

// Validate checks credentials against the app's platform: an iOS app takes APNs, an
// Android app FCM, a web app Web Push. Keys are parsed, so a bad key fails here and
// not at send time.
func (c *Credentials) Validate(platform string) error {
	var errs []error
	n := 0
	if c.APNs != nil {
		n++
		if platform != PlatformIOS {
			errs = append(errs, fieldErr("apns", "APNs credentials need an ios app"))
		}
		errs = append(errs, c.APNs.validate())
	}
	if c.FCM != nil {
		n++
		if platform != PlatformAndroid {
			errs = append(errs, fieldErr("fcm", "FCM credentials need an android app"))
		}
		errs = append(errs, c.FCM.validate())
	}
	if c.WebPush != nil {
		n++
		if platform != PlatformWeb {
			errs = append(errs, fieldErr("webpush", "Web Push credentials need a web app"))
		}
		errs = append(errs, c.WebPush.validate())
	}
	if n == 0 {
		errs = append(errs, fieldErr("credentials", "give one of apns, fcm or webpush"))
	}
	return errors.Join(errs...)
}

func (a *APNsCredentials) validate() error {
	var errs []error
	token := a.KeyP8 != "" || a.KeyID != "" || a.TeamID != ""
	cert := len(a.CertificateP12) > 0 || a.CertificatePEM != ""
	switch {
	case token && cert:
		errs = append(errs, fieldErr("apns", "use token auth (key_p8, key_id, team_id) or a certificate, not both"))
	case token:
		if a.KeyID == "" {
			errs = append(errs, fieldErr("apns.key_id", "required for token auth"))
		}
		if a.TeamID == "" {
			errs = append(errs, fieldErr("apns.team_id", "required for token auth"))
		}
		if err := checkP8(a.KeyP8); err != nil {
			errs = append(errs, fieldErr("apns.key_p8", "%v", err))
		}
	case cert:
		if a.CertificatePEM != "" {
			if b, _ := pem.Decode([]byte(a.CertificatePEM)); b == nil {
				errs = append(errs, fieldErr("apns.certificate_pem", "no PEM block found"))
			}
		}
	default:
		errs = append(errs, fieldErr("apns", "needs token auth (key_p8, key_id, team_id) or a certificate"))
	}
	if a.Topic == "" {
		errs = append(errs, fieldErr("apns.topic", "required (the app's bundle id)"))
	}
	switch a.Environment {
	case "", "production", "sandbox":
	default:
		errs = append(errs, fieldErr("apns.environment", "must be production or sandbox"))
	}
	if a.Host != "" {
		if u, err := url.Parse(a.Host); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fieldErr("apns.host", "must be an https URL"))
		}
	}
	return errors.Join(errs...)
}

func checkP8(p8 string) error {
	block, _ := pem.Decode([]byte(p8))
	if block == nil {
		return errors.New("no PEM block found (expected the .p8 file's contents)")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return fmt.Errorf("not a PKCS#8 private key: %v", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return errors.New("not a P-256 ECDSA key")
	}
	return nil
}

func (f *FCMCredentials) validate() error {
	// the document may arrive as a JSON object or as a string holding one
	if len(f.ServiceAccountJSON) > 0 && f.ServiceAccountJSON[0] == '"' {
		var s string
		if err := json.Unmarshal(f.ServiceAccountJSON, &s); err == nil {
			f.ServiceAccountJSON = json.RawMessage(s)
		}
	}
	var sa struct {
		Type        string `json:"type"`
		ProjectID   string `json:"project_id"`
		PrivateKey  string `json:"private_key"`
		ClientEmail string `json:"client_email"`
		TokenURI    string `json:"token_uri"`
	}
	if err := json.Unmarshal(f.ServiceAccountJSON, &sa); err != nil {
		return fieldErr("fcm.service_account_json", "not a JSON object: %v", err)
	}
	var errs []error
	if sa.Type != "service_account" {
		errs = append(errs, fieldErr("fcm.service_account_json", "type must be service_account"))
	}
	if sa.ProjectID == "" && f.ProjectID == "" {
		errs = append(errs, fieldErr("fcm.project_id", "required (not in the service account either)"))
	}
	if sa.ClientEmail == "" {
		errs = append(errs, fieldErr("fcm.service_account_json", "client_email missing"))
	}
	if block, _ := pem.Decode([]byte(sa.PrivateKey)); block == nil {
		errs = append(errs, fieldErr("fcm.service_account_json", "private_key is not PEM"))
	} else if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		errs = append(errs, fieldErr("fcm.service_account_json", "private_key: %v", err))
	} else if _, ok := k.(*rsa.PrivateKey); !ok {
		errs = append(errs, fieldErr("fcm.service_account_json", "private_key is not an RSA key"))
	}
	return errors.Join(errs...)
}

func (w *WebPushCredentials) validate() error {
	var errs []error
	pub, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(w.VAPIDPublicKey, "="))
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		errs = append(errs, fieldErr("webpush.vapid_public_key", "must be a base64url uncompressed P-256 point (65 bytes)"))
	}
	priv, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(w.VAPIDPrivateKey, "="))
	if err != nil || len(priv) != 32 {
		errs = append(errs, fieldErr("webpush.vapid_private_key", "must be a base64url P-256 scalar (32 bytes)"))
	} else if len(errs) == 0 {
		k, err := ecdh.P256().NewPrivateKey(priv)
		if err != nil {
			errs = append(errs, fieldErr("webpush.vapid_private_key", "%v", err))
		} else if string(k.PublicKey().Bytes()) != string(pub) {
			errs = append(errs, fieldErr("webpush.vapid_public_key", "does not belong to the private key"))
		}
	}
	switch {
	case w.Subject == "":
		errs = append(errs, fieldErr("webpush.subject", "required: a bare e-mail address or an https URL"))
	case strings.HasPrefix(w.Subject, "mailto:"):
		errs = append(errs, fieldErr("webpush.subject", "give the bare address without mailto: (the sender adds it)"))
	case strings.HasPrefix(w.Subject, "https://"):
	default:
		if a, err := mail.ParseAddress(w.Subject); err != nil || a.Name != "" || a.Address != w.Subject {
			errs = append(errs, fieldErr("webpush.subject", "not an e-mail address or https URL"))
		}
	}
	return errors.Join(errs...)
}
