package api_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strings"
	"testing"
)

func p8Key(t *testing.T) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func serviceAccount(t *testing.T) map[string]any {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return map[string]any{"type": "service_account", "project_id": "proj-1", "client_email": "sa@proj-1.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), "token_uri": "https://oauth2.googleapis.com/token"}
}

func vapid(t *testing.T) (pub, priv string) {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(k.Bytes())
}

func TestAppsManagement(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		r := e.do("POST", "/manage/apps", `{"name":"Shop iOS","platform":"ios"}`)
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		app := r.json(t)
		id := app["id"].(string)
		if !strings.HasPrefix(id, "shop-ios-") || !strings.HasPrefix(app["sdk_key"].(string), "hsk_") || app["platform"] != "ios" {
			t.Fatalf("created app = %s", r.body)
		}
		for _, c := range []struct{ body, field string }{
			{`{"name":"x","platform":"windows"}`, "platform"},
			{`{"name":"","platform":"ios"}`, "name"},
			{`{"id":"bad id!","name":"x","platform":"ios"}`, "id"},
		} {
			r := e.do("POST", "/manage/apps", c.body)
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+c.field+`"`) {
				t.Errorf("create %s: %d %s, want 400 naming %s", c.body, r.status, r.body, c.field)
			}
		}
		if r := e.do("POST", "/manage/apps", `{"name":"x","platform":"ios","colour":"red"}`); r.status != 400 || !strings.Contains(string(r.body), "colour") {
			t.Errorf("unknown field: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/apps", `{"id":"`+id+`","name":"dup","platform":"ios"}`); r.status != 409 {
			t.Errorf("duplicate id: %d %s", r.status, r.body)
		}

		key := p8Key(t)
		creds := map[string]any{"apns": map[string]any{"key_p8": key, "key_id": "ABC123DEFG", "team_id": "TEAM123456", "topic": "com.example.shop"}}
		r = e.do("PUT", "/manage/apps/"+id+"/credentials", creds)
		if r.status != 200 || r.json(t)["credentials"].(map[string]any)["apns"] != true {
			t.Fatalf("set credentials: %d %s", r.status, r.body)
		}
		// the secret is never returned, and is sealed at rest
		for _, path := range []string{"/manage/apps", "/manage/apps/" + id} {
			if r := e.do("GET", path, nil); r.status != 200 || strings.Contains(string(r.body), "PRIVATE KEY") || strings.Contains(string(r.body), "TEAM123456") {
				t.Fatalf("GET %s leaks credentials or fails: %d %s", path, r.status, r.body)
			}
		}
		stored, err := e.store.GetApp(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(stored.Sealed, []byte("PRIVATE KEY")) || bytes.Contains(stored.Sealed, []byte("com.example.shop")) || len(stored.Sealed) < 100 {
			t.Fatalf("credentials are not encrypted at rest (%d bytes)", len(stored.Sealed))
		}

		// validation names fields; platform mismatch is refused
		bad := []struct {
			creds any
			field string
		}{
			{map[string]any{"apns": map[string]any{"key_p8": "not a key", "key_id": "K", "team_id": "T", "topic": "t"}}, "apns.key_p8"},
			{map[string]any{"apns": map[string]any{"key_p8": key, "key_id": "K", "team_id": "T"}}, "apns.topic"},
			{map[string]any{"fcm": map[string]any{"service_account_json": serviceAccount(t)}}, "fcm"},
			{map[string]any{}, "credentials"},
		}
		for _, b := range bad {
			r := e.do("PUT", "/manage/apps/"+id+"/credentials", b.creds)
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+b.field+`"`) {
				t.Errorf("bad credentials %v: %d %s, want 400 naming %s", b.field, r.status, r.body, b.field)
			}
		}
		if r := e.do("PUT", "/manage/apps/missing/credentials", creds); r.status != 404 {
			t.Errorf("credentials for a missing app: %d", r.status)
		}

		// android with a service account given as a JSON string, web with VAPID
		if r := e.do("POST", "/manage/apps", `{"id":"and-1","name":"Android","platform":"android"}`); r.status != 201 {
			t.Fatal(r.status)
		}
		sa, _ := json.Marshal(serviceAccount(t))
		if r := e.do("PUT", "/manage/apps/and-1/credentials", map[string]any{"fcm": map[string]any{"service_account_json": string(sa)}}); r.status != 200 {
			t.Fatalf("fcm credentials: %d %s", r.status, r.body)
		}
		if r := e.do("POST", "/manage/apps", `{"id":"web-1","name":"Web","platform":"web"}`); r.status != 201 {
			t.Fatal(r.status)
		}
		pub, priv := vapid(t)
		_, otherPriv := vapid(t)
		if r := e.do("PUT", "/manage/apps/web-1/credentials", map[string]any{"webpush": map[string]any{"vapid_public_key": pub, "vapid_private_key": otherPriv, "subject": "ops@example.com"}}); r.status != 400 || !strings.Contains(string(r.body), "does not belong") {
			t.Fatalf("mismatched VAPID pair: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", "/manage/apps/web-1/credentials", map[string]any{"webpush": map[string]any{"vapid_public_key": pub, "vapid_private_key": priv, "subject": "mailto:ops@example.com"}}); r.status != 400 {
			t.Fatalf("mailto: subject accepted: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", "/manage/apps/web-1/credentials", map[string]any{"webpush": map[string]any{"vapid_public_key": pub, "vapid_private_key": priv, "subject": "ops@example.com"}}); r.status != 200 {
			t.Fatalf("webpush credentials: %d %s", r.status, r.body)
		}
		r = e.do("GET", "/manage/apps", nil)
		if apps := r.json(t)["apps"].([]any); len(apps) != 3 {
			t.Fatalf("list = %s", r.body)
		}
	})
}

func rsaPublicPEM(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestAppsSDKAuth: PUT /manage/apps/{id}/sdk_auth sets the mode and key, names
// the field of bad input, never returns the secret, and seals it at rest.
func TestAppsSDKAuth(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, driver string) {
		e := newEnv(t, driver)
		if r := e.do("POST", "/manage/apps", `{"id":"web-a","name":"Web","platform":"web"}`); r.status != 201 {
			t.Fatal(r.status, string(r.body))
		}
		r := e.do("GET", "/manage/apps/web-a", nil)
		if auth := r.json(t)["sdk_auth"].(map[string]any); auth["mode"] != "disabled" || auth["algorithm"] != "" {
			t.Fatalf("a new app's sdk_auth = %v, want disabled", auth)
		}

		const secret = "a-shared-secret-of-at-least-32-bytes!!"
		r = e.do("PUT", "/manage/apps/web-a/sdk_auth", map[string]any{"mode": "required", "algorithm": "HS256", "secret": secret})
		if r.status != 200 {
			t.Fatalf("set HS256: %d %s", r.status, r.body)
		}
		if auth := r.json(t)["sdk_auth"].(map[string]any); auth["mode"] != "required" || auth["algorithm"] != "HS256" {
			t.Fatalf("sdk_auth = %v", auth)
		}
		for _, path := range []string{"/manage/apps", "/manage/apps/web-a"} {
			if r := e.do("GET", path, nil); r.status != 200 || strings.Contains(string(r.body), secret) || !strings.Contains(string(r.body), `"mode":"required"`) {
				t.Fatalf("GET %s: %d %s", path, r.status, r.body)
			}
		}
		stored, err := e.store.GetApp(context.Background(), "web-a")
		if err != nil {
			t.Fatal(err)
		}
		if len(stored.SDKAuth.SealedSecret) == 0 || bytes.Contains(stored.SDKAuth.SealedSecret, []byte(secret)) {
			t.Fatalf("the secret is not sealed at rest: %q", stored.SDKAuth.SealedSecret)
		}

		// a mode change alone keeps the key of the same algorithm
		r = e.do("PUT", "/manage/apps/web-a/sdk_auth", map[string]any{"mode": "optional", "algorithm": "HS256"})
		if r.status != 200 {
			t.Fatalf("mode only: %d %s", r.status, r.body)
		}
		if again, _ := e.store.GetApp(context.Background(), "web-a"); string(again.SDKAuth.SealedSecret) != string(stored.SDKAuth.SealedSecret) || again.SDKAuth.Mode != "optional" {
			t.Fatalf("mode change lost the secret: %+v", again.SDKAuth)
		}

		pub := rsaPublicPEM(t)
		r = e.do("PUT", "/manage/apps/web-a/sdk_auth", map[string]any{"mode": "required", "algorithm": "RS256", "public_key": pub})
		if r.status != 200 || r.json(t)["sdk_auth"].(map[string]any)["algorithm"] != "RS256" {
			t.Fatalf("set RS256: %d %s", r.status, r.body)
		}
		if got, _ := e.store.GetApp(context.Background(), "web-a"); got.SDKAuth.SealedSecret != nil || !strings.Contains(got.SDKAuth.PublicKey, "BEGIN PUBLIC KEY") {
			t.Fatalf("RS256 stored as %+v", got.SDKAuth)
		}

		bad := []struct {
			body          any
			field, reason string
		}{
			{map[string]any{"algorithm": "HS256", "secret": secret}, "mode", "required"},
			{map[string]any{"mode": "on"}, "mode", "disabled, optional or required"},
			{map[string]any{"mode": "required"}, "algorithm", "required in mode required"},
			{map[string]any{"mode": "required", "algorithm": "none"}, "algorithm", "HS256 or RS256"},
			{map[string]any{"mode": "required", "algorithm": "ES256"}, "algorithm", "HS256 or RS256"},
			{map[string]any{"mode": "required", "algorithm": "HS256", "secret": "short"}, "secret", "at least 32 bytes"},
			{map[string]any{"mode": "required", "algorithm": "HS256"}, "secret", "required for HS256"},
			{map[string]any{"mode": "required", "algorithm": "HS256", "secret": secret, "public_key": pub}, "public_key", "not a public key"},
			{map[string]any{"mode": "required", "algorithm": "RS256", "public_key": "nope"}, "public_key", "no PEM block"},
			{map[string]any{"mode": "required", "algorithm": "RS256", "public_key": p8Key(t)}, "public_key", "private key"},
			{map[string]any{"mode": "required", "algorithm": "RS256", "secret": secret}, "secret", "not a secret"},
			{map[string]any{"mode": "disabled", "secret": secret}, "algorithm", "required with a key"},
		}
		for _, b := range bad {
			r := e.do("PUT", "/manage/apps/web-a/sdk_auth", b.body)
			if r.status != 400 || !strings.Contains(string(r.body), `"field":"`+b.field+`"`) || !strings.Contains(string(r.body), b.reason) {
				t.Errorf("%v: %d %s, want 400 naming %s (%s)", b.body, r.status, r.body, b.field, b.reason)
			}
			if strings.Contains(string(r.body), secret) {
				t.Errorf("%v: the answer echoes the secret: %s", b.body, r.body)
			}
		}
		if r := e.do("PUT", "/manage/apps/web-a/sdk_auth", `{"mode":"required","algorithm":"HS256","secret":"`+secret+`","kid":"x"}`); r.status != 400 || !strings.Contains(string(r.body), "kid") {
			t.Errorf("unknown field: %d %s", r.status, r.body)
		}
		if r := e.do("PUT", "/manage/apps/missing/sdk_auth", map[string]any{"mode": "disabled"}); r.status != 404 {
			t.Errorf("missing app: %d %s", r.status, r.body)
		}
		trackOnly := e.key("track-only", "users.track")
		if r := e.do("PUT", "/manage/apps/web-a/sdk_auth", map[string]any{"mode": "disabled"}, "Authorization", "Bearer "+trackOnly); r.status != 403 {
			t.Errorf("without the manage scope: %d %s", r.status, r.body)
		}

		// disabled without a key clears it
		r = e.do("PUT", "/manage/apps/web-a/sdk_auth", map[string]any{"mode": "disabled"})
		if r.status != 200 {
			t.Fatalf("disable: %d %s", r.status, r.body)
		}
		if got, _ := e.store.GetApp(context.Background(), "web-a"); got.SDKAuth.Mode != "disabled" || got.SDKAuth.Algorithm != "" || got.SDKAuth.PublicKey != "" {
			t.Fatalf("disabled app keeps %+v", got.SDKAuth)
		}
	})
}
