package apns

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sideshow/apns2"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
)

func TestNewFailsFast(t *testing.T) {
	t.Parallel()
	p256 := p8(t, newP256(t))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good := Credentials{KeyP8: p256, KeyID: testKID, TeamID: testTeam, Topic: testTopic}
	with := func(f func(*Credentials)) Credentials { c := good; f(&c); return c }
	cases := map[string]struct {
		creds Credentials
		want  string
	}{
		"not PEM":          {with(func(c *Credentials) { c.KeyP8 = "MIGTAgEAMBMGByqGSM49" }), "p8"},
		"RSA key":          {with(func(c *Credentials) { c.KeyP8 = p8(t, rsaKey) }), "p8"},
		"P-384 key":        {with(func(c *Credentials) { c.KeyP8 = p8(t, p384) }), "signing"},
		"no key id":        {with(func(c *Credentials) { c.KeyID = "" }), "key id"},
		"no team id":       {with(func(c *Credentials) { c.TeamID = "" }), "team id"},
		"no topic":         {with(func(c *Credentials) { c.Topic = " " }), "topic"},
		"both auths":       {with(func(c *Credentials) { c.CertificatePEM = "x" }), "not both"},
		"no credentials":   {Credentials{Topic: testTopic}, "no credentials"},
		"bad environment":  {with(func(c *Credentials) { c.Environment = "staging" }), "environment"},
		"plain http host":  {with(func(c *Credentials) { c.Host = "http://127.0.0.1:1" }), "https"},
		"host with a path": {with(func(c *Credentials) { c.Host = "https://127.0.0.1:1/3/device" }), "https"},
		"p12 and pem":      {Credentials{Topic: testTopic, CertificateP12: []byte{1}, CertificatePEM: "x"}, "not both"},
		"p12 password": {Credentials{Topic: testTopic, CertificateP12: readFile(t, "testdata/client.p12"),
			CertificatePassword: "wrong"}, "certificate"},
		"pem password": {Credentials{Topic: testTopic, CertificatePEM: string(readFile(t, "testdata/client-encrypted.pem")),
			CertificatePassword: "wrong"}, "certificate"},
		"expired certificate": {Credentials{Topic: testTopic, CertificatePEM: expiredCertPEM(t)}, "expired"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := New(context.Background(), c.creds, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
	// Every problem at once.
	_, err = New(context.Background(), Credentials{Environment: "x"}, Options{})
	for _, want := range []string{"topic", "no credentials", "environment"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("joined error %v lacks %q", err, want)
		}
	}
}

// expiredCertPEM is a self-signed certificate and key that expired yesterday.
func expiredCertPEM(t *testing.T) string {
	t.Helper()
	key := newP256(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "expired"},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(0, 0, -1)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func TestHosts(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		env, host, want string
	}{
		"default":     {"", "", apns2.HostProduction},
		"production":  {"production", "", apns2.HostProduction},
		"sandbox":     {"sandbox", "", apns2.HostDevelopment},
		"custom":      {"sandbox", "https://127.0.0.1:8443/", "https://127.0.0.1:8443"},
		"custom name": {"", "https://apns.fake.internal", "https://apns.fake.internal"},
	}
	for name, c := range cases {
		s, err := New(context.Background(), Credentials{KeyP8: p8(t, newP256(t)), KeyID: testKID, TeamID: testTeam,
			Topic: testTopic, Environment: c.env, Host: c.host}, Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if s.client.Host != c.want {
			t.Errorf("%s: host %q, want %q", name, s.client.Host, c.want)
		}
		_ = s.Close()
	}
}

func TestCertificateAuth(t *testing.T) {
	t.Parallel()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, "testdata/client-cert.pem")) {
		t.Fatal("no certificate in testdata/client-cert.pem")
	}
	e := newEnv(t, func(c *apnsfake.Config) { c.ClientCAs = pool })
	cases := map[string]Credentials{
		"p12": {CertificateP12: readFile(t, "testdata/client.p12"), CertificatePassword: "herald-test",
			Topic: testTopic, Host: e.srv.URL},
		"pem": {CertificatePEM: string(readFile(t, "testdata/client-encrypted.pem")), CertificatePassword: "herald-test",
			Topic: testTopic, Host: e.srv.URL},
	}
	for name, creds := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := e.sender(t, func(c *Credentials, _ *Options) { *c = creds })
			if s.tok != nil {
				t.Error("certificate auth holds a provider token")
			}
			r := s.Send(context.Background(), []channels.Message{message("m-"+name, "cert-"+name, alert("x"))})[0]
			if r.Outcome != channels.Delivered {
				t.Fatalf("%s %q %v", r.Outcome, r.Reason, r.Err)
			}
		})
	}
	// A certificate the fake does not trust pauses the channel.
	other := newEnv(t, nil)
	s := other.sender(t, func(c *Credentials, _ *Options) { *c = cases["pem"]; c.Host = other.srv.URL })
	r := s.Send(context.Background(), []channels.Message{message("m", "abcd", alert("x"))})[0]
	if r.Outcome != channels.Retry || !r.Pause || r.Reason != "BadCertificate" {
		t.Errorf("untrusted certificate: %s pause %v %q", r.Outcome, r.Pause, r.Reason)
	}
}
