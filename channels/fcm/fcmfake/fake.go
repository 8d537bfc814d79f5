package fcmfake

import (
	"crypto/rsa"
	"net/http"
	"sync"
	"time"

	"github.com/herald-oss/herald/channels/fake"
)

// Scopes the token endpoint accepts: a token asked without one of them cannot
// send messages.
const (
	ScopeMessaging     = "https://www.googleapis.com/auth/firebase.messaging"
	ScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
)

// Default paths and limits.
const (
	// DefaultTokenPath is where the OAuth token endpoint is mounted when
	// Config.TokenPath is empty.
	DefaultTokenPath = "/token"
	// DefaultTokenTTL is the lifetime of an issued access token.
	DefaultTokenTTL = time.Hour
	// MaxPayloadBytes is FCM's limit on a message's payload: the JSON of its
	// data and notification objects (top level and android), not the token,
	// targeting or options; larger messages get 400 INVALID_ARGUMENT
	// "Message is too big".
	MaxPayloadBytes = 4096
	// maxBody bounds a request body the fake reads.
	maxBody = 1 << 20
)

// Answer is a scripted reply to one send attempt.
type Answer struct {
	// Status is the HTTP status; 0 or 200 accepts (and records) the message.
	Status int
	// Code is the FCM error code put in the FcmError detail
	// ("UNREGISTERED", "QUOTA_EXCEEDED", …); empty sends no FCM detail.
	Code string
	// RPCStatus is the google.rpc status ("NOT_FOUND"); empty derives it from
	// Status.
	RPCStatus string
	// Message is the error message; empty uses a default.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Cut, when set, breaks the exchange off instead of answering normally,
	// as a network failure would after the request was sent.
	Cut Cut
}

// Cut is how an answer is broken off.
type Cut uint8

const (
	// CutNone answers normally.
	CutNone Cut = iota
	// CutBeforeAnswer resets the stream before any answer: the client's
	// request fails. The message is not recorded.
	CutBeforeAnswer
	// CutDuringBody sends the status line and headers (Status, 200 when 0)
	// and part of the body, then resets the stream: the client fails reading
	// the body. A 2xx message is recorded: it was accepted, only the answer
	// was lost.
	CutDuringBody
)

// Config configures a Fake.
type Config struct {
	// Projects maps each FCM project id the fake serves to the Herald app id
	// recorded for its messages.
	Projects map[string]string
	// ServiceAccounts maps a service account's client_email to the public key
	// its token assertions must be signed with. An account whose email is
	// <name>@<project>.iam.gserviceaccount.com may only send for <project>.
	ServiceAccounts map[string]*rsa.PublicKey
	// Recorder receives accepted messages; nil creates one keeping everything.
	Recorder *fake.Recorder
	// Script, when set, is asked first for every send attempt that passed
	// authentication and validation (attempt counts from 1 per token); when it
	// returns false the token behaviours apply.
	Script func(token string, attempt int) (Answer, bool)
	// TokenPath is the path of the OAuth token endpoint; default DefaultTokenPath.
	TokenPath string
	// TokenTTL is the lifetime of issued access tokens; default DefaultTokenTTL.
	TokenTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Fake is a fake FCM provider. It is safe for concurrent use.
type Fake struct {
	cfg      Config
	recorder *fake.Recorder
	attempts fake.Attempts

	mu       sync.Mutex
	projects map[string]string
	accounts map[string]*rsa.PublicKey
	tokens   map[string]issued
	issuedN  int
	sendsN   int
}

// issued is an access token the fake handed out.
type issued struct {
	email  string
	expiry time.Time
}

// New returns a Fake serving cfg's projects and service accounts.
func New(cfg Config) *Fake {
	if cfg.TokenPath == "" {
		cfg.TokenPath = DefaultTokenPath
	}
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	f := &Fake{cfg: cfg, recorder: cfg.Recorder,
		projects: map[string]string{}, accounts: map[string]*rsa.PublicKey{}, tokens: map[string]issued{}}
	if f.recorder == nil {
		f.recorder = fake.NewRecorder(0)
	}
	for p, app := range cfg.Projects {
		f.projects[p] = app
	}
	for e, k := range cfg.ServiceAccounts {
		f.accounts[e] = k
	}
	return f
}

// Register mounts the token endpoint and the FCM v1 send route on mux.
func (f *Fake) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+f.cfg.TokenPath, f.serveToken)
	mux.HandleFunc("POST /v1/projects/{project}/messages:send", f.serveSend)
}

// Recorder returns the recorder of accepted messages.
func (f *Fake) Recorder() *fake.Recorder { return f.recorder }

// TokenPath returns the path of the OAuth token endpoint.
func (f *Fake) TokenPath() string { return f.cfg.TokenPath }

// AddProject serves one more project, recorded under appID.
func (f *Fake) AddProject(projectID, appID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.projects[projectID] = appID
}

// AddServiceAccount trusts one more service account key.
func (f *Fake) AddServiceAccount(email string, pub *rsa.PublicKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accounts[email] = pub
}

// RevokeTokens invalidates every access token issued so far: the next send
// with one gets 401 UNAUTHENTICATED.
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.tokens)
}

// TokensIssued returns how many access tokens the fake has issued.
func (f *Fake) TokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issuedN
}

// Sends returns how many send requests reached the fake (any answer).
func (f *Fake) Sends() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sendsN
}

func (f *Fake) project(id string) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	app, ok := f.projects[id]
	return app, ok
}

func (f *Fake) account(email string) (*rsa.PublicKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.accounts[email]
	return k, ok
}
