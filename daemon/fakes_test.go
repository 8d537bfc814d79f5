package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
)

// herald fakes + herald send-test deliver to all three platforms; dead tokens
// come back as DropToken and are pruned; throttling is retried after the
// provider's delay; the Web Push fake shows the decrypted body.
func TestFakesAndSendTest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "herald-fakes.yaml")
	r := start(t, nil, "fakes", "--addr", "127.0.0.1:0", "--write-config", cfgPath)
	base := r.waitFor(t, regexp.MustCompile(`Web Push\) on (https://\S+)`), false)
	caPEM, err := os.ReadFile(filepath.Join(dir, "herald-fakes-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	getJSON := func(method, url string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				t.Fatalf("%s %s: %s", method, url, data)
			}
		}
	}
	if code, out, errs := run(t, nil, "migrate", "-c", cfgPath); code != 0 {
		t.Fatalf("migrate: %s %s", out, errs)
	}
	for _, p := range []string{"ios", "android"} {
		code, out, errs := run(t, nil, "send-test", "-c", cfgPath, "--platform", p, "--token", "device-"+p, "--title", "Hi", "--body", "Body "+p)
		if code != 0 || !strings.Contains(out, "delivered") {
			t.Fatalf("send-test %s: %d %s %s", p, code, out, errs)
		}
	}
	var sub json.RawMessage
	getJSON("POST", base+"/_fake/webpush/subscribe", &sub)
	if code, out, errs := run(t, nil, "send-test", "-c", cfgPath, "--platform", "web", "--subscription", string(sub), "--body", "Body web"); code != 0 {
		t.Fatalf("send-test web: %d %s %s", code, out, errs)
	}
	// a web subscription minted on the fake can be named by its endpoint's last segment
	var sub2 struct {
		Endpoint string `json:"endpoint"`
	}
	getJSON("POST", base+"/_fake/webpush/subscribe", &sub2)
	segment := sub2.Endpoint[strings.LastIndex(sub2.Endpoint, "/")+1:]
	if code, out, errs := run(t, nil, "send-test", "-c", cfgPath, "--platform", "web", "--token", segment, "--body", "By segment"); code != 0 {
		t.Fatalf("send-test web by segment: %d %s %s", code, out, errs)
	}
	// throttling: retried after the provider's Retry-After, then delivered
	start := time.Now()
	code, out, errs := run(t, nil, "send-test", "-c", cfgPath, "--platform", "ios", "--token", "throttle-1")
	if code != 0 || !strings.Contains(out, "retry after 1s") || time.Since(start) < time.Second {
		t.Fatalf("throttled send-test: %d %s %s (%s)", code, out, errs, time.Since(start))
	}
	var records []struct {
		Channel string         `json:"channel"`
		Token   string         `json:"token"`
		AppID   string         `json:"app_id"`
		Payload map[string]any `json:"payload"`
	}
	getJSON("GET", base+"/_fake/messages", &records)
	seen := map[string]map[string]any{}
	for _, rec := range records {
		if strings.HasPrefix(rec.Token, "throttle") {
			continue
		}
		seen[rec.Channel] = rec.Payload
	}
	if fmt.Sprint(seen["apns"]["aps"]) == "" || !strings.Contains(fmt.Sprint(seen["apns"]), "Body ios") {
		t.Fatalf("APNs payload = %v", seen["apns"])
	}
	if !strings.Contains(fmt.Sprint(seen["fcm"]), "Body android") {
		t.Fatalf("FCM payload = %v", seen["fcm"])
	}
	if seen["webpush"]["body"] != "By segment" {
		t.Fatalf("Web Push fake did not record the decrypted body: %v", seen["webpush"])
	}

	// a dead token registered for a user is pruned
	cfg, err := config.Load(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := openStore(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	apps, _ := appService(&cfg, st)
	if err := declareApps(ctx, &cfg, apps); err != nil {
		t.Fatal(err)
	}
	svc := profiles.NewService(st, profiles.Options{})
	req, _ := profiles.DecodeTrack(strings.NewReader(`{"attributes":[{"external_id":"u","push_tokens":[{"app_id":"fake-android","token":"unregistered-7"},{"app_id":"fake-ios","token":"baddevice-8"}]}]}`), time.Now(), profiles.DefaultLimits())
	if _, err := svc.Track(ctx, req); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, _ = run(t, nil, "send-test", "-c", cfgPath, "--app", "fake-android", "--token", "unregistered-7")
	if code != 1 || !strings.Contains(out, "drop_token") || !strings.Contains(out, "marked invalid") {
		t.Fatalf("send-test to a dead token: %d %s", code, out)
	}
	// a token APNs calls bad for this app is reported but not pruned by a one-off test
	code, out, _ = run(t, nil, "send-test", "-c", cfgPath, "--app", "fake-ios", "--token", "baddevice-8")
	if code != 1 || !strings.Contains(out, "drop_token") || !strings.Contains(out, "is kept") {
		t.Fatalf("send-test to a bad device token: %d %s", code, out)
	}
	st, err = openStore(ctx, &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d, err := st.FindDevice(ctx, "fake-android", "unregistered-7", false)
	if err != nil || d.Valid() || d.InvalidReason != "UNREGISTERED" {
		t.Fatalf("dead token after send-test: %+v %v", d, err)
	}
	if d, err := st.FindDevice(ctx, "fake-ios", "baddevice-8", false); err != nil || !d.Valid() {
		t.Fatalf("bad device token after send-test: %+v %v", d, err)
	}
}
