package profiles_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

func TestDropTokensPrunesDevices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	apps := profiles.NewAppService(st, nil, nil)
	for _, a := range [][2]string{{"ios-1", "ios"}, {"web-1", "web"}} {
		if _, err := apps.Create(ctx, a[0], a[0], a[1]); err != nil {
			t.Fatal(err)
		}
	}
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	auth := make([]byte, 16)
	_, _ = rand.Read(auth)
	sub := fmt.Sprintf(`{"endpoint":"https://fcm.googleapis.com/fcm/send/abc","keys":{"p256dh":"%s","auth":"%s"}}`,
		base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(auth))
	svc := profiles.NewService(st, profiles.Options{})
	body := fmt.Sprintf(`{"attributes":[{"external_id":"u","push_tokens":[{"app_id":"ios-1","token":"ABCDEF01"},{"app_id":"web-1","token":%q}]}]}`, sub)
	req, err := profiles.DecodeTrack(strings.NewReader(body), time.Now(), profiles.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Track(ctx, req); err != nil || len(res.Errors) > 0 {
		t.Fatalf("track: %v %v", res, err)
	}
	// the sender saw the stored forms: lower-case hex, canonical subscription JSON
	n, err := svc.DropTokens(ctx, []profiles.DroppedToken{
		{AppID: "ios-1", Platform: "ios", Token: "abcdef01", Reason: "Unregistered"},
		{AppID: "web-1", Platform: "web", Token: sub, Reason: "410 Gone"},
	})
	if err != nil || n != 2 {
		t.Fatalf("DropTokens = %d, %v; want 2", n, err)
	}
	ex, err := svc.Export(ctx, &profiles.ExportRequest{Lookup: profiles.Lookup{ExternalIDs: []string{"u"}}})
	if err != nil {
		t.Fatal(err)
	}
	toks := ex.Users[0]["push_tokens"].([]map[string]any)
	for _, tk := range toks {
		if tk["valid"] != false || tk["invalid_reason"] == "" || tk["notifications_enabled"] != false {
			t.Fatalf("token not shown invalid in the export: %v", tk)
		}
	}
}
