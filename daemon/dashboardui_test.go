package daemon

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/dashboard"
)

// The dashboard in herald dev: push credentials uploaded as files and
// fields are stored and checked by a test send through the fake providers,
// with the provider's answer shown.
func TestDashboardCredentialsTestSend(t *testing.T) {
	t.Parallel()
	call, n, base := startDev(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(base+"/dashboard/signin", url.Values{"key": {devTestKey}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == dashboard.CookieName {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("sign in: %d, no cookie", res.StatusCode)
	}
	do := func(method, path string, body io.Reader, ct string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, body)
		req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: cookie})
		req.Header.Set("Origin", base)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		loc, _ := url.QueryUnescape(res.Header.Get("Location"))
		return res.StatusCode, loc, string(b)
	}
	_, _, page := do("GET", "/dashboard/settings", nil, "")
	m := regexp.MustCompile(`data-csrf="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("settings page: %s", page)
	}
	csrf := m[1]
	upload := func(app string, fields map[string]string, file []byte) (int, string, string) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		fields["csrf"] = csrf
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		if file != nil {
			f, _ := w.CreateFormFile("file", "credentials")
			_, _ = f.Write(file)
		}
		_ = w.Close()
		return do("POST", "/dashboard/settings/apps/"+app+"/credentials", &buf, w.FormDataContentType())
	}
	ctx := context.Background()
	ios, err := n.apps.Credentials(ctx, "dev-ios")
	if err != nil {
		t.Fatal(err)
	}
	android, err := n.apps.Credentials(ctx, "dev-android")
	if err != nil {
		t.Fatal(err)
	}
	web, err := n.apps.Credentials(ctx, "dev-web")
	if err != nil {
		t.Fatal(err)
	}
	var sub struct {
		Endpoint string `json:"endpoint"`
	}
	if code := call("POST", "/dev/webpush/subscribe", "", &sub); code != 200 {
		t.Fatalf("subscribe: %d", code)
	}
	a := ios.APNs
	for _, tc := range []struct {
		name, app string
		fields    map[string]string
		file      []byte
		want      string
	}{
		{"a .p8 key", "dev-ios", map[string]string{"kind": "apns", "key_id": a.KeyID, "team_id": a.TeamID, "topic": a.Topic,
			"environment": a.Environment, "host": a.Host, "test_token": "dashboard-ios-1"}, []byte(a.KeyP8), "test send: delivered"},
		{"a .p8 key, a dead token", "dev-ios", map[string]string{"kind": "apns", "key_id": a.KeyID, "team_id": a.TeamID, "topic": a.Topic,
			"environment": a.Environment, "host": a.Host, "test_token": "unregistered-1"}, []byte(a.KeyP8), "test send: drop_token"},
		{"a service account", "dev-android", map[string]string{"kind": "fcm", "project_id": android.FCM.ProjectID, "endpoint": android.FCM.Endpoint,
			"test_token": "dashboard-android-1"}, android.FCM.ServiceAccountJSON, "test send: delivered"},
		{"VAPID keys", "dev-web", map[string]string{"kind": "webpush", "vapid_public_key": web.WebPush.VAPIDPublicKey,
			"vapid_private_key": web.WebPush.VAPIDPrivateKey, "subject": web.WebPush.Subject, "test_token": sub.Endpoint}, nil, "test send: delivered"},
	} {
		status, loc, body := upload(tc.app, tc.fields, tc.file)
		if status != http.StatusSeeOther || !strings.Contains(loc, tc.want) {
			t.Errorf("%s: %d %q %s", tc.name, status, loc, body)
		}
	}
	var outbox []map[string]any
	call("GET", "/dev/outbox", "", &outbox)
	titles := 0
	for _, rec := range outbox {
		if titleOf(t, rec) == "Herald test" {
			titles++
		}
	}
	if titles != 3 {
		t.Errorf("the fakes received %d test messages, want 3: %v", titles, outbox)
	}
	// keys the subscription was not made for: stored, and the test send says
	// the push service refused them
	pub, priv, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	status, loc, _ := upload("dev-web", map[string]string{"kind": "webpush", "vapid_public_key": pub, "vapid_private_key": priv,
		"subject": web.WebPush.Subject, "test_token": sub.Endpoint}, nil)
	if status != http.StatusSeeOther || !strings.Contains(loc, "test send: ") || strings.Contains(loc, "test send: delivered") {
		t.Errorf("mismatched VAPID keys: %d %q", status, loc)
	}
	t.Logf("mismatched VAPID keys: %s", loc)
	// the test send form, on its own
	status, loc, _ = do("POST", "/dashboard/settings/apps/dev-ios/test", strings.NewReader(url.Values{"csrf": {csrf}, "token": {"dashboard-ios-2"}}.Encode()),
		"application/x-www-form-urlencoded")
	if status != http.StatusSeeOther || !strings.Contains(loc, "test send to dev-ios: delivered") {
		t.Errorf("test send: %d %q", status, loc)
	}
}

// Without security.encryption_key there is no session key: /dashboard says
// how to enable it, and the API beside it is served as before.
func TestDashboardDisabledWithoutEncryptionKey(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	n := &node{cfg: &cfg, log: slog.New(slog.DiscardHandler)}
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := n.withDashboard(api)
	for path, want := range map[string]int{"/dashboard": 503, "/dashboard/campaigns": 503, "/users/track": http.StatusTeapot} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != want || (want == 503 && !strings.Contains(rec.Body.String(), "security.encryption_key")) {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
