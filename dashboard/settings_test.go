package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/herald-oss/herald/apikeys"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/dashboard"
)

func TestAPIKeysCreateAndRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.signIn(e.admin)
	res := b.post("/dashboard/settings/keys", url.Values{"name": {"backend"}, "scopes": {"users.track", "campaigns.trigger.send"}})
	m := regexp.MustCompile(`id="new-secret">([^<]+)<`).FindStringSubmatch(res.body)
	if res.status != http.StatusCreated || m == nil {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	ctx := context.Background()
	k, err := e.keys.Verify(ctx, m[1])
	if err != nil || k.Name != "backend" || !slices.Equal(k.Scopes, []string{"users.track", "campaigns.trigger.send"}) || k.Allows("manage") {
		t.Fatalf("created key: %+v %v", k, err)
	}
	// the new key works on the API with its scope, and only it
	if r := e.request("POST", "/users/track", strings.NewReader(`{"attributes":[{"external_id":"k1"}]}`), "Authorization", "Bearer "+m[1],
		"Content-Type", "application/json"); r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("track with the new key: %d %s", r.status, r.body)
	}
	// listed, never with its secret
	page := b.get("/dashboard/settings")
	if !strings.Contains(page.body, `data-key="`+k.ID+`"`) || strings.Contains(page.body, m[1]) {
		t.Fatal("the key list is wrong or shows a secret")
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"unknown scope", url.Values{"name": {"x"}, "scopes": {"users.fly"}}, "<code>scopes</code>: unknown scope"},
		{"no scope", url.Values{"name": {"x"}}, "<code>scopes</code>: at least one scope"},
		{"no name", url.Values{"scopes": {"manage"}}, "<code>name</code>"},
	} {
		if r := b.post("/dashboard/settings/keys", tc.form); r.status != http.StatusBadRequest || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	// a manage key without every scope cannot mint an all-scopes key
	limited := e.signIn(e.key("limited manager", "manage"))
	if r := limited.post("/dashboard/settings/keys", url.Values{"name": {"root"}, "scopes": {"all"}}); r.status != http.StatusBadRequest {
		t.Errorf("escalation: %d", r.status)
	}
	if r := b.post("/dashboard/settings/keys/"+k.ID+"/revoke", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if _, err := e.keys.Verify(ctx, m[1]); err != apikeys.ErrUnknownKey {
		t.Fatalf("revoked key still verifies: %v", err)
	}
	if r := b.post("/dashboard/settings/keys/"+k.ID+"/revoke", nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "<code>id</code>") {
		t.Errorf("second revoke: %d", r.status)
	}
}

// testSends records the test sends asked for.
type testSends struct{ calls []string }

func (s *testSends) TestSend(_ context.Context, appID, token string) (string, error) {
	s.calls = append(s.calls, appID+" "+token)
	return "delivered (provider id p-1)", nil
}

// multipartForm builds a multipart body: fields, and files as name -> content.
func multipartForm(t *testing.T, fields map[string]string, files map[string][]byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	for k, v := range files {
		f, err := w.CreateFormFile(k, k+".bin")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write(v)
	}
	_ = w.Close()
	return &buf, w.FormDataContentType()
}

func TestAppsAndCredentials(t *testing.T) {
	t.Parallel()
	sends := &testSends{}
	e := newEnv(t, envOptions{driver: "sqlite", deps: func(d *dashboard.Deps) { d.TestSender = sends }})
	b := e.signIn(e.admin)
	for _, app := range []struct{ id, platform string }{{"web-1", "web"}, {"android-1", "android"}, {"ios-1", "ios"}} {
		if r := b.post("/dashboard/settings/apps", url.Values{"id": {app.id}, "name": {app.id}, "platform": {app.platform}}); r.status != http.StatusSeeOther {
			t.Fatalf("create app %s: %d %s", app.id, r.status, r.body)
		}
	}
	if r := b.post("/dashboard/settings/apps", url.Values{"id": {"x"}, "name": {"x"}, "platform": {"toaster"}}); r.status != http.StatusBadRequest {
		t.Errorf("bad platform: %d %s", r.status, r.body)
	}
	upload := func(app string, fields map[string]string, files map[string][]byte) response {
		fields["csrf"] = b.csrf
		body, ct := multipartForm(t, fields, files)
		return e.request("POST", "/dashboard/settings/apps/"+app+"/credentials", body, "Cookie", dashboard.CookieName+"="+b.cookie,
			"Content-Type", ct, "Origin", e.url)
	}
	pub, priv, err := webpush.GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	r := upload("web-1", map[string]string{"kind": "webpush", "vapid_public_key": pub, "vapid_private_key": priv, "subject": "ops@example.com",
		"test_token": "https://push.example/abc"}, nil)
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "test+send%3A+delivered") {
		t.Fatalf("VAPID upload: %d %v %s", r.status, r.header, r.body)
	}
	if len(sends.calls) != 1 || sends.calls[0] != "web-1 https://push.example/abc" {
		t.Fatalf("test sends: %v", sends.calls)
	}
	var app struct {
		Credentials struct {
			WebPush bool `json:"webpush"`
		} `json:"credentials"`
	}
	_ = json.Unmarshal([]byte(e.apiCall("GET", "/manage/apps/web-1", nil).body), &app)
	if !app.Credentials.WebPush {
		t.Fatal("the VAPID keys were not stored")
	}
	for _, tc := range []struct {
		name   string
		app    string
		fields map[string]string
		files  map[string][]byte
		want   string
	}{
		{"VAPID pair mismatch", "web-1", map[string]string{"kind": "webpush", "vapid_public_key": pub, "vapid_private_key": "AAAA", "subject": "a@b.c"}, nil, "vapid"},
		{"no service account", "android-1", map[string]string{"kind": "fcm"}, nil, "<code>file</code>"},
		{"service account not JSON", "android-1", map[string]string{"kind": "fcm"}, map[string][]byte{"file": []byte("nope")}, "<code>file</code>"},
		{"service account without key", "android-1", map[string]string{"kind": "fcm"}, map[string][]byte{"file": []byte(`{"type":"service_account"}`)}, "fcm"},
		{"p8 that is not a key", "ios-1", map[string]string{"kind": "apns", "key_id": "ABC123DEFG", "team_id": "TEAM123456", "topic": "com.example"},
			map[string][]byte{"file": []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, "apns"},
		{"unknown kind", "ios-1", map[string]string{"kind": "pigeon"}, nil, "<code>kind</code>"},
	} {
		r := upload(tc.app, tc.fields, tc.files)
		if errs := fieldErrors(r.body); r.status != http.StatusBadRequest || !strings.Contains(strings.ToLower(errs), strings.ToLower(tc.want)) {
			t.Errorf("%s: %d, want %q in %q", tc.name, r.status, tc.want, errs)
		}
	}
	if r := b.post("/dashboard/settings/apps/web-1/test", url.Values{"token": {"tok"}}); r.status != http.StatusSeeOther || len(sends.calls) != 2 {
		t.Errorf("test send: %d %v", r.status, sends.calls)
	}
	if r := b.post("/dashboard/settings/apps/web-1/test", url.Values{}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "<code>token</code>") {
		t.Errorf("test send without token: %d", r.status)
	}
}

// fieldErrors is a page's list of refused fields.
func fieldErrors(body string) string {
	m := regexp.MustCompile(`(?s)<ul class="errors" id="field-errors">(.*?)</ul>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}
