package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush"
	"github.com/herald-oss/herald/config"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/store"
)

// A sender is built once per app, and built again when the app's credentials change.
func TestSendersRebuildWhenCredentialsChange(t *testing.T) {
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
	box, _ := seal.New(make([]byte, 32))
	apps := profiles.NewAppService(st, box, nil)
	if _, err := apps.Create(ctx, "web-1", "Web", "web"); err != nil {
		t.Fatal(err)
	}
	setKeys := func() {
		pub, priv, err := webpush.GenerateVAPIDKeys()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := apps.SetCredentials(ctx, "web-1", &profiles.Credentials{WebPush: &profiles.WebPushCredentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "ops@example.com"}}); err != nil {
			t.Fatal(err)
		}
	}
	setKeys()
	cfg := config.Default()
	snd, err := newSenders(&cfg, apps, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer snd.Close()
	first, platform, err := snd.For(ctx, "web-1")
	if err != nil || platform != "web" {
		t.Fatalf("For = %v, %q, %v", first, platform, err)
	}
	again, _, _ := snd.For(ctx, "web-1")
	if again != first {
		t.Fatal("a second For built a new sender")
	}
	time.Sleep(5 * time.Millisecond) // updated_at has millisecond resolution
	setKeys()
	snd.mu.Lock()
	snd.byApp["web-1"].checked = time.Time{} // as if the recheck interval had passed
	snd.mu.Unlock()
	rebuilt, _, err := snd.For(ctx, "web-1")
	if err != nil || rebuilt == first {
		t.Fatalf("new credentials kept the old sender (%v)", err)
	}
	var _ channels.Sender = rebuilt
	if _, _, err := snd.For(ctx, "missing"); err == nil {
		t.Fatal("For of an unknown app succeeded")
	}
}
