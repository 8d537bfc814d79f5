package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/sdkauth"
)

// SDK requests are authenticated by an app's public SDK key in this header
// (not by a REST API key): the key names the app, it grants nothing else.
const sdkKeyHeader = "X-Herald-Api-Key"

// sdkAllowHeaders are the request headers a browser may send to the SDK
// endpoints from any origin (the key is public; no cookies are used).
const sdkAllowHeaders = "Content-Type, Content-Encoding, X-Herald-Api-Key, X-Herald-Sdk-Auth"

type sdkAppKey struct{}

// sdkApp is the app an SDK request was authenticated for.
func sdkApp(ctx context.Context) *profiles.App {
	a, _ := ctx.Value(sdkAppKey{}).(*profiles.App)
	return a
}

// sdkAuthHeader carries the SDK authentication token: a JWT naming the user,
// signed by the customer's backend (docs/sdk-auth.md).
const sdkAuthHeader = "X-Herald-Sdk-Auth"

type sdkAuthKey struct{}

// sdkAuth is what an SDK request proved about its user: the app's mode and
// the verified token's subject ("" when no token was sent or the mode is
// disabled).
type sdkAuth struct {
	mode    sdkauth.Mode
	subject string
}

// sdkCheckUser reports whether the SDK request may read or write the user with
// external id externalID ("" for the device's anonymous user): nil when
// allowed, else an error whose message is the 401 reason. Every SDK handler
// calls it with the request's user id before touching the user.
func sdkCheckUser(ctx context.Context, externalID string) error {
	a, ok := ctx.Value(sdkAuthKey{}).(sdkAuth)
	if !ok {
		// not under handleSDK: refuse rather than serve unchecked
		return errors.New("SDK authentication was not checked for this request")
	}
	return sdkauth.Check(a.mode, a.subject, externalID)
}

// sdkDenied is an SDK request refused with 401 and Message.
type sdkDenied struct{ Message string }

func (e *sdkDenied) Error() string { return e.Message }

// sdkContext authenticates an SDK request and returns the context its handler
// runs with: the app named by the SDK key (sdkApp) and, unless the app's SDK
// authentication is disabled, the user proved by the token in
// X-Herald-Sdk-Auth (sdkCheckUser). A missing or unknown SDK key and a token
// sent but not valid are *sdkDenied (401); other errors are the server's.
// With the mode disabled the token header is ignored: there is no key to
// check it with.
func (s *Server) sdkContext(r *http.Request) (context.Context, error) {
	key := strings.TrimSpace(r.Header.Get(sdkKeyHeader))
	if key == "" || s.deps.Apps == nil {
		return nil, &sdkDenied{"missing " + sdkKeyHeader + ": the app's SDK key"}
	}
	app, err := s.deps.Apps.BySDKKey(r.Context(), key)
	if errors.Is(err, profiles.ErrNotFound) {
		return nil, &sdkDenied{"unknown SDK key"}
	}
	if err != nil {
		return nil, err
	}
	auth := sdkAuth{mode: app.SDKAuth.Mode}
	if token := sdkToken(r); token != "" && (auth.mode == sdkauth.Optional || auth.mode == sdkauth.Required) {
		claims, err := s.deps.Apps.VerifySDKToken(app, token)
		var te *sdkauth.Error
		if errors.As(err, &te) {
			return nil, &sdkDenied{sdkAuthHeader + ": " + te.Error()}
		}
		if err != nil {
			return nil, err
		}
		auth.subject = claims.Subject
	}
	ctx := context.WithValue(r.Context(), sdkAppKey{}, app)
	return context.WithValue(ctx, sdkAuthKey{}, auth), nil
}

// sdkToken is the request's token; a "Bearer " prefix is tolerated.
func sdkToken(r *http.Request) string {
	t := strings.TrimSpace(r.Header.Get(sdkAuthHeader))
	if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") {
		t = strings.TrimSpace(t[7:])
	}
	return t
}

// handleSDK registers an SDK endpoint: CORS for browsers (any origin, with a
// preflight answer), the live lane, the SDK key naming the app and the SDK
// authentication token (401 when either is refused, see sdkContext), and the
// body limit with gzip accepted. The handler finds the app with
// sdkApp(r.Context()) and must call sdkCheckUser with the request's user id.
func (s *Server) handleSDK(pattern string, h http.HandlerFunc) {
	method, path, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc("OPTIONS "+path, func(w http.ResponseWriter, r *http.Request) {
		sdkCORS(w)
		w.Header().Set("Access-Control-Allow-Methods", method+", OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", sdkAllowHeaders)
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
	})
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sdkCORS(w)
		release, ok := s.acquire(w, r, false)
		if !ok {
			return
		}
		defer release()
		ctx, err := s.sdkContext(r)
		var denied *sdkDenied
		if errors.As(err, &denied) {
			writeMessage(w, http.StatusUnauthorized, denied.Message)
			return
		}
		if err != nil {
			s.writeRequestError(w, r, err)
			return
		}
		body, err := requestBody(w, r, s.opts.MaxBodyBytes)
		if err != nil {
			writeMessage(w, http.StatusBadRequest, err.Error())
			return
		}
		r.Body = body
		h(w, r.WithContext(ctx))
	})
}

func sdkCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
}
