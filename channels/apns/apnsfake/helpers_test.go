package apnsfake_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels/apns/apnsfake"
)

const (
	testKID   = "KEY1234567"
	testTeam  = "TEAM123456"
	testTopic = "com.example.app"
	testApp   = "app-ios"
)

// bundle is one test's fake and what a client needs to talk to it.
type bundle struct {
	srv    *apnsfake.Server
	key    *ecdsa.PrivateKey
	client *http.Client
	bearer string
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs a fake trusting one key for testKID and the topic testTopic.
func start(t testing.TB, mod func(*apnsfake.Config)) *bundle {
	t.Helper()
	key := newKey(t)
	cfg := apnsfake.Config{
		Keys:   map[string]*ecdsa.PublicKey{testKID: &key.PublicKey},
		TeamID: testTeam,
		Topics: map[string]string{testTopic: testApp, testTopic + ".voip": testApp},
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := apnsfake.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: srv.Pool()}, ForceAttemptHTTP2: true}}
	t.Cleanup(client.CloseIdleConnections)
	return &bundle{srv: srv, key: key, client: client, bearer: signJWT(t, key, "ES256", testKID, testTeam, time.Now().Unix())}
}

// signJWT makes an ES256 provider token by hand (header, claims, raw r||s).
func signJWT(t testing.TB, key *ecdsa.PrivateKey, alg, kid, iss string, iat int64) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := enc(map[string]any{"alg": alg, "kid": kid}) + "." + enc(map[string]any{"iss": iss, "iat": iat})
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// request is one call to the fake.
type request struct {
	method  string
	path    string
	headers map[string]string
	multi   map[string][]string // repeated headers
	body    string
	noAuth  bool
}

// answer is the fake's reply.
type answer struct {
	status int
	reason string
	header http.Header
	body   map[string]any
	proto  int
}

// goodHeaders are the headers of a valid alert push.
func goodHeaders() map[string]string {
	return map[string]string{"apns-topic": testTopic, "apns-push-type": "alert", "apns-priority": "10"}
}

const goodBody = `{"aps":{"alert":"hello"},"herald_message_id":"m1"}`

func (b *bundle) do(t testing.TB, client *http.Client, rq request) answer {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	if client == nil {
		client = b.client
	}
	req, err := http.NewRequest(rq.method, b.srv.URL+rq.path, bytes.NewReader([]byte(rq.body)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range rq.headers {
		req.Header.Set(k, v)
	}
	for k, vs := range rq.multi {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if !rq.noAuth && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "bearer "+b.bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, proto: res.ProtoMajor}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("body %q: %v", raw, err)
		}
		a.reason, _ = a.body["reason"].(string)
	}
	return a
}

// clientCert makes a CA and a client certificate it signed (clientAuth).
func clientCert(t testing.TB) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test client CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Apple Push Services: " + testTopic},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
