package profiles

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKeys are real keys of every kind Credentials.Validate parses, made once.
type testKeys struct {
	p8          string // APNs .p8: a P-256 key, PKCS#8 PEM
	p8P384      string // a PKCS#8 key on the wrong curve
	rsaPKCS8    string // the service account's key, PKCS#8 PEM
	rsaPKCS1    string // the same key as "RSA PRIVATE KEY"
	certPEM     string // a self-signed certificate
	vapidPub    string // base64url raw, 65 bytes
	vapidPriv   string // base64url raw, 32 bytes
	otherPub    string // the public key of another VAPID pair
	serviceAcct json.RawMessage
}

var keysOnce = sync.OnceValues(func() (*testKeys, error) {
	k := &testKeys{}
	pkcs8 := func(key any) (string, error) {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), nil
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if k.p8, err = pkcs8(ec); err != nil {
		return nil, err
	}
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if k.p8P384, err = pkcs8(ec384); err != nil {
		return nil, err
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if k.rsaPKCS8, err = pkcs8(rk); err != nil {
		return nil, err
	}
	k.rsaPKCS1 = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Apple Push Services: com.example.app"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).AddDate(50, 0, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec.PublicKey, ec)
	if err != nil {
		return nil, err
	}
	k.certPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	vp, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k.vapidPub = base64.RawURLEncoding.EncodeToString(vp.PublicKey().Bytes())
	k.vapidPriv = base64.RawURLEncoding.EncodeToString(vp.Bytes())
	other, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	k.otherPub = base64.RawURLEncoding.EncodeToString(other.PublicKey().Bytes())
	k.serviceAcct = serviceAccount(map[string]string{"private_key": k.rsaPKCS8})
	return k, nil
})

func keys(t *testing.T) *testKeys {
	t.Helper()
	k, err := keysOnce()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// serviceAccount returns a Google service-account document with the given fields
// replaced ("" deletes a field).
func serviceAccount(over map[string]string) json.RawMessage {
	sa := map[string]string{
		"type":                        "service_account",
		"project_id":                  "herald-test",
		"private_key_id":              "0123456789abcdef",
		"client_email":                "herald@herald-test.iam.gserviceaccount.com",
		"client_id":                   "1234567890",
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   "https://oauth2.googleapis.com/token",
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
	}
	for k, v := range over {
		if v == "" {
			delete(sa, k)
		} else {
			sa[k] = v
		}
	}
	b, _ := json.Marshal(sa)
	return b
}

// fieldPaths lists the Field of every *FieldError in a (joined) error, sorted.
func fieldPaths(err error) []string {
	var out []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		var fe *FieldError
		if errors.As(e, &fe) && fe == e {
			out = append(out, fe.Field)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		walk(errors.Unwrap(e))
	}
	walk(err)
	sort.Strings(out)
	return out
}

func TestCredentialsValidate(t *testing.T) {
	t.Parallel()
	k := keys(t)
	apnsToken := func(mod func(*APNsCredentials)) *Credentials {
		a := &APNsCredentials{KeyP8: k.p8, KeyID: "ABC123DEFG", TeamID: "DEF123GHIJ", Topic: "com.example.app"}
		if mod != nil {
			mod(a)
		}
		return &Credentials{APNs: a}
	}
	fcm := func(mod func(*FCMCredentials)) *Credentials {
		f := &FCMCredentials{ServiceAccountJSON: append(json.RawMessage(nil), k.serviceAcct...)}
		if mod != nil {
			mod(f)
		}
		return &Credentials{FCM: f}
	}
	web := func(mod func(*WebPushCredentials)) *Credentials {
		w := &WebPushCredentials{VAPIDPublicKey: k.vapidPub, VAPIDPrivateKey: k.vapidPriv, Subject: "ops@example.com"}
		if mod != nil {
			mod(w)
		}
		return &Credentials{WebPush: w}
	}
	saString, _ := json.Marshal(string(k.serviceAcct))
	cases := []struct {
		name     string
		platform string
		creds    *Credentials
		want     []string // field paths of the expected errors; nil for valid
	}{
		{"APNs token auth", PlatformIOS, apnsToken(nil), nil},
		{"APNs sandbox with host", PlatformIOS, apnsToken(func(a *APNsCredentials) {
			a.Environment, a.Host = "sandbox", "https://api.sandbox.push.apple.com"
		}), nil},
		{"APNs certificate PEM", PlatformIOS, &Credentials{APNs: &APNsCredentials{CertificatePEM: k.certPEM, Topic: "com.example.app"}}, nil},
		{"APNs certificate p12", PlatformIOS, &Credentials{APNs: &APNsCredentials{CertificateP12: []byte{0x30, 0x82}, CertificatePassword: "pw", Topic: "t"}}, nil},
		{"APNs for android", PlatformAndroid, apnsToken(nil), []string{"apns"}},
		{"APNs for web", PlatformWeb, apnsToken(nil), []string{"apns"}},
		{"APNs p8 is RSA", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.KeyP8 = k.rsaPKCS8 }), []string{"apns.key_p8"}},
		{"APNs p8 on P-384", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.KeyP8 = k.p8P384 }), []string{"apns.key_p8"}},
		{"APNs p8 not PEM", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.KeyP8 = "MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg" }), []string{"apns.key_p8"}},
		{"APNs p8 PEM garbage", PlatformIOS, apnsToken(func(a *APNsCredentials) {
			a.KeyP8 = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("garbage")}))
		}), []string{"apns.key_p8"}},
		{"APNs missing key and team ids", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.KeyID, a.TeamID = "", "" }), []string{"apns.key_id", "apns.team_id"}},
		{"APNs key id alone", PlatformIOS, &Credentials{APNs: &APNsCredentials{KeyID: "K", Topic: "t"}}, []string{"apns.key_p8", "apns.team_id"}},
		{"APNs missing topic", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.Topic = "" }), []string{"apns.topic"}},
		{"APNs token and certificate", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.CertificatePEM = k.certPEM }), []string{"apns"}},
		{"APNs no auth", PlatformIOS, &Credentials{APNs: &APNsCredentials{Topic: "t"}}, []string{"apns"}},
		{"APNs certificate not PEM", PlatformIOS, &Credentials{APNs: &APNsCredentials{CertificatePEM: "not pem", Topic: "t"}}, []string{"apns.certificate_pem"}},
		{"APNs bad environment", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.Environment = "development" }), []string{"apns.environment"}},
		{"APNs http host", PlatformIOS, apnsToken(func(a *APNsCredentials) { a.Host = "http://api.push.apple.com" }), []string{"apns.host"}},

		{"FCM", PlatformAndroid, fcm(nil), nil},
		{"FCM document as a string", PlatformAndroid, fcm(func(f *FCMCredentials) { f.ServiceAccountJSON = saString }), nil},
		{"FCM project id outside the document", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.rsaPKCS8, "project_id": ""})
			f.ProjectID = "p"
		}), nil},
		{"FCM for ios", PlatformIOS, fcm(nil), []string{"fcm"}},
		{"FCM wrong type", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.rsaPKCS8, "type": "authorized_user"})
		}), []string{"fcm.service_account_json"}},
		{"FCM no project id", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.rsaPKCS8, "project_id": ""})
		}), []string{"fcm.project_id"}},
		{"FCM no client email", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.rsaPKCS8, "client_email": ""})
		}), []string{"fcm.service_account_json"}},
		{"FCM no private key", PlatformAndroid, fcm(func(f *FCMCredentials) { f.ServiceAccountJSON = serviceAccount(nil) }),
			[]string{"fcm.service_account_json"}},
		{"FCM EC private key", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.p8})
		}), []string{"fcm.service_account_json"}},
		{"FCM PKCS#1 private key", PlatformAndroid, fcm(func(f *FCMCredentials) {
			f.ServiceAccountJSON = serviceAccount(map[string]string{"private_key": k.rsaPKCS1})
		}), []string{"fcm.service_account_json"}},
		{"FCM not JSON", PlatformAndroid, fcm(func(f *FCMCredentials) { f.ServiceAccountJSON = json.RawMessage(`[1,2]`) }), []string{"fcm.service_account_json"}},
		{"FCM empty", PlatformAndroid, fcm(func(f *FCMCredentials) { f.ServiceAccountJSON = nil }), []string{"fcm.service_account_json"}},

		{"Web Push", PlatformWeb, web(nil), nil},
		{"Web Push https subject", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "https://example.com/contact" }), nil},
		{"Web Push padded keys", PlatformWeb, web(func(w *WebPushCredentials) { w.VAPIDPublicKey += "="; w.VAPIDPrivateKey += "=" }), nil},
		{"Web Push for android", PlatformAndroid, web(nil), []string{"webpush"}},
		{"Web Push public key of another pair", PlatformWeb, web(func(w *WebPushCredentials) { w.VAPIDPublicKey = k.otherPub }), []string{"webpush.vapid_public_key"}},
		{"Web Push keys swapped", PlatformWeb, web(func(w *WebPushCredentials) { w.VAPIDPublicKey, w.VAPIDPrivateKey = k.vapidPriv, k.vapidPub }),
			[]string{"webpush.vapid_private_key", "webpush.vapid_public_key"}},
		{"Web Push private key 31 bytes", PlatformWeb, web(func(w *WebPushCredentials) {
			w.VAPIDPrivateKey = base64.RawURLEncoding.EncodeToString(make([]byte, 31))
		}), []string{"webpush.vapid_private_key"}},
		{"Web Push private key zero", PlatformWeb, web(func(w *WebPushCredentials) {
			w.VAPIDPrivateKey = base64.RawURLEncoding.EncodeToString(make([]byte, 32))
		}), []string{"webpush.vapid_private_key"}},
		{"Web Push private key above the order", PlatformWeb, web(func(w *WebPushCredentials) {
			w.VAPIDPrivateKey = base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 32)))
		}), []string{"webpush.vapid_private_key"}},
		{"Web Push public key not base64", PlatformWeb, web(func(w *WebPushCredentials) { w.VAPIDPublicKey = "not a key" }), []string{"webpush.vapid_public_key"}},
		{"Web Push public key in standard base64", PlatformWeb, web(func(w *WebPushCredentials) {
			raw, _ := base64.RawURLEncoding.DecodeString(k.vapidPub)
			w.VAPIDPublicKey = base64.StdEncoding.EncodeToString(raw) + "/+" // never valid base64url
		}), []string{"webpush.vapid_public_key"}},
		{"Web Push mailto subject", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "mailto:ops@example.com" }), []string{"webpush.subject"}},
		{"Web Push no subject", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "" }), []string{"webpush.subject"}},
		{"Web Push http subject", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "http://example.com" }), []string{"webpush.subject"}},
		{"Web Push subject not an address", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "ops team" }), []string{"webpush.subject"}},
		// the sender prefixes mailto:, so only a bare address makes a valid URI
		{"Web Push subject with a display name", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "Ops <ops@example.com>" }), []string{"webpush.subject"}},
		{"Web Push subject with a comment", PlatformWeb, web(func(w *WebPushCredentials) { w.Subject = "ops@example.com (Ops)" }), []string{"webpush.subject"}},

		{"none", PlatformIOS, &Credentials{}, []string{"credentials"}},
		{"two kinds", PlatformIOS, &Credentials{APNs: apnsToken(nil).APNs, FCM: fcm(nil).FCM}, []string{"fcm"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.creds.Validate(tc.platform)
			if got := fieldPaths(err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate(%s) = %v\nfields %q; want %q", tc.platform, err, got, tc.want)
			}
		})
	}
}

// No key material may leak into a validation error: it is shown to API clients
// and logged.
func TestCredentialsValidateRedacts(t *testing.T) {
	t.Parallel()
	k := keys(t)
	pemBody := func(p string) string {
		b, _ := pem.Decode([]byte(p))
		return base64.StdEncoding.EncodeToString(b.Bytes)[40:80]
	}
	broken := strings.Replace(k.rsaPKCS8, "MII", "XXX", 1)
	creds := []*Credentials{
		{APNs: &APNsCredentials{KeyP8: k.rsaPKCS8, KeyID: "K", TeamID: "T"}},
		{FCM: &FCMCredentials{ServiceAccountJSON: serviceAccount(map[string]string{"private_key": k.p8, "type": "user"})}},
		{FCM: &FCMCredentials{ServiceAccountJSON: json.RawMessage(`{"private_key":"` + k.vapidPriv + `",`)}},
		{FCM: &FCMCredentials{ServiceAccountJSON: serviceAccount(map[string]string{"private_key": broken})}},
		{WebPush: &WebPushCredentials{VAPIDPublicKey: k.otherPub, VAPIDPrivateKey: k.vapidPriv, Subject: "x"}},
		{WebPush: &WebPushCredentials{VAPIDPublicKey: k.vapidPriv, VAPIDPrivateKey: k.vapidPub + "A", Subject: k.vapidPriv}},
	}
	secrets := []string{pemBody(k.rsaPKCS8), pemBody(k.p8), k.vapidPriv, "PRIVATE KEY"}
	for i, c := range creds {
		err := c.Validate(PlatformWeb)
		if err == nil {
			t.Errorf("credentials %d: no error", i)
			continue
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("credentials %d: error %q holds key material %q", i, err, s)
			}
		}
	}
}

func TestCredentialsKinds(t *testing.T) {
	t.Parallel()
	c := &Credentials{WebPush: &WebPushCredentials{}}
	if got := c.Kinds(); got != (CredentialKinds{WebPush: true}) {
		t.Errorf("Kinds = %+v", got)
	}
}

func TestValidateApp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		id, name, platform string
		want               []string
	}{
		{"ios-app", "My App", PlatformIOS, nil},
		{"com.example.app_2", "x", PlatformAndroid, nil},
		{"w", "Web", PlatformWeb, nil},
		{strings.Repeat("a", 64), "n", PlatformWeb, nil},
		{strings.Repeat("a", 65), "n", PlatformWeb, []string{"id"}},
		{"", "n", PlatformIOS, []string{"id"}},
		{"-app", "n", PlatformIOS, []string{"id"}},
		{"my app", "n", PlatformIOS, []string{"id"}},
		{"app", "  ", PlatformIOS, []string{"name"}},
		{"app", strings.Repeat("n", 256), PlatformIOS, []string{"name"}},
		{"app", "n", "windows", []string{"platform"}},
		{"", "", "", []string{"id", "name", "platform"}},
	}
	for _, tc := range cases {
		if got := fieldPaths(ValidateApp(tc.id, tc.name, tc.platform)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ValidateApp(%.20q, %.20q, %q) fields %q; want %q", tc.id, tc.name, tc.platform, got, tc.want)
		}
	}
}

func TestSDKAuthSettingsValidate(t *testing.T) {
	t.Parallel()
	k := keys(t)
	block, _ := pem.Decode([]byte(k.rsaPKCS8))
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&priv.(*rsa.PrivateKey).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	secret := strings.Repeat("s", 32)
	cases := []struct {
		name string
		in   SDKAuthSettings
		keep string
		want []string // field paths; none: valid
	}{
		{"disabled", SDKAuthSettings{Mode: "disabled"}, "", nil},
		{"disabled with a staged key", SDKAuthSettings{Mode: "disabled", Algorithm: "HS256", Secret: secret}, "", nil},
		{"hs256", SDKAuthSettings{Mode: "required", Algorithm: "HS256", Secret: secret}, "", nil},
		{"rs256", SDKAuthSettings{Mode: "optional", Algorithm: "RS256", PublicKey: pub}, "", nil},
		{"mode only, key kept", SDKAuthSettings{Mode: "required", Algorithm: "HS256"}, "HS256", nil},
		{"mode only, other key kept", SDKAuthSettings{Mode: "required", Algorithm: "RS256"}, "HS256", []string{"public_key"}},
		{"no mode", SDKAuthSettings{Algorithm: "HS256", Secret: secret}, "", []string{"mode"}},
		{"bad mode", SDKAuthSettings{Mode: "strict"}, "", []string{"mode"}},
		{"required without algorithm", SDKAuthSettings{Mode: "required"}, "", []string{"algorithm"}},
		{"key without algorithm", SDKAuthSettings{Mode: "disabled", PublicKey: pub}, "", []string{"algorithm"}},
		{"alg none", SDKAuthSettings{Mode: "required", Algorithm: "none"}, "", []string{"algorithm"}},
		{"lowercase alg", SDKAuthSettings{Mode: "required", Algorithm: "hs256", Secret: secret}, "", []string{"algorithm"}},
		{"short secret", SDKAuthSettings{Mode: "required", Algorithm: "HS256", Secret: "short"}, "", []string{"secret"}},
		{"hs256 with public key", SDKAuthSettings{Mode: "required", Algorithm: "HS256", PublicKey: pub}, "", []string{"public_key", "secret"}},
		{"rs256 with secret", SDKAuthSettings{Mode: "required", Algorithm: "RS256", Secret: secret, PublicKey: pub}, "", []string{"secret"}},
		{"rs256 private key", SDKAuthSettings{Mode: "required", Algorithm: "RS256", PublicKey: k.rsaPKCS8}, "", []string{"public_key"}},
		{"rs256 EC key", SDKAuthSettings{Mode: "required", Algorithm: "RS256", PublicKey: k.certPEM}, "", []string{"public_key"}},
	}
	for _, c := range cases {
		err := c.in.Validate(c.keep)
		if got := fieldPaths(err); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: fields %v (%v), want %v", c.name, got, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error leaks the secret: %v", c.name, err)
		}
	}
}
