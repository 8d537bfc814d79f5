package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/herald-oss/herald/profiles"
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

// handleSDK registers an SDK endpoint: CORS for browsers (any origin, with a
// preflight answer), the live lane, the SDK key naming the app (401 when
// missing or unknown), and the body limit with gzip accepted. The handler
// finds the app with sdkApp(r.Context()).
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
		key := strings.TrimSpace(r.Header.Get(sdkKeyHeader))
		if key == "" || s.deps.Apps == nil {
			writeMessage(w, http.StatusUnauthorized, "missing "+sdkKeyHeader+": the app's SDK key")
			return
		}
		app, err := s.deps.Apps.BySDKKey(r.Context(), key)
		if errors.Is(err, profiles.ErrNotFound) {
			writeMessage(w, http.StatusUnauthorized, "unknown SDK key")
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
		h(w, r.WithContext(context.WithValue(r.Context(), sdkAppKey{}, app)))
	})
}

func sdkCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
}
