package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWithPprof(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tc := range []struct {
		on         bool
		path       string
		wantStatus int
	}{
		{false, "/debug/pprof/", http.StatusTeapot},
		{true, "/debug/pprof/", http.StatusOK},
		{true, "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{true, "/metrics", http.StatusTeapot},
	} {
		rec := httptest.NewRecorder()
		withPprof(tc.on, next).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tc.path, nil))
		if rec.Code != tc.wantStatus {
			t.Errorf("pprof %v, GET %s: status %d, want %d", tc.on, tc.path, rec.Code, tc.wantStatus)
		}
	}
}
