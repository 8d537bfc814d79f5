package daemon

import (
	"context"
	"errors"
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
	expire := func() { // as if the recheck interval had passed
		snd.mu.Lock()
		snd.byApp["web-1"].checked = time.Time{}
		snd.mu.Unlock()
	}
	// re-declaring the app with the same credentials (each start) keeps it
	if _, err := apps.SetCredentials(ctx, "web-1", mustCredentials(t, apps, "web-1")); err != nil {
		t.Fatal(err)
	}
	expire()
	if same, _, err := snd.For(ctx, "web-1"); err != nil || same != first {
		t.Fatalf("unchanged credentials built a new sender (%v)", err)
	}
	setKeys()
	expire()
	rebuilt, _, err := snd.For(ctx, "web-1")
	if err != nil || rebuilt == first {
		t.Fatalf("new credentials kept the old sender (%v)", err)
	}
	var _ channels.Sender = rebuilt
	if _, _, err := snd.For(ctx, "missing"); !errors.Is(err, profiles.ErrNotFound) {
		t.Fatalf("For of an unknown app: %v", err)
	}
	snd.mu.Lock()
	_, kept := snd.byApp["missing"]
	snd.mu.Unlock()
	if kept {
		t.Fatal("an unknown app stays in the sender cache")
	}
}

func mustCredentials(t *testing.T, apps *profiles.AppService, id string) *profiles.Credentials {
	t.Helper()
	c, err := apps.Credentials(context.Background(), id)
	if err != nil || c == nil {
		t.Fatalf("credentials of %s: %v %v", id, c, err)
	}
	return c
}

// Each channel's Pausable weighs the answers its provider gives for a token
// that is invalid for the app, and never an unregistered one.
func TestPauseOptionsPerChannel(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	snd, err := newSenders(&cfg, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	drop := func(reason string) channels.Result {
		return channels.Result{Outcome: channels.DropToken, Reason: reason}
	}
	for _, c := range []struct {
		channel        string
		invalid, trust channels.Result
	}{
		{channels.APNs, drop("BadDeviceToken"), drop("Unregistered")},
		{channels.FCM, drop("SENDER_ID_MISMATCH"), drop("UNREGISTERED")},
	} {
		o := snd.pauseOptions(c.channel)
		if o.IsInvalid == nil || !o.IsInvalid(c.invalid) || o.IsInvalid(c.trust) {
			t.Errorf("%s: IsInvalid does not pick %q alone", c.channel, c.invalid.Reason)
		}
	}
	o := snd.pauseOptions(channels.WebPush)
	refused := channels.Result{Outcome: channels.Retry, Pause: true,
		Err: &channels.ProviderError{Channel: channels.WebPush, Status: 403}}
	if o.PerToken == nil || !o.PerToken(refused) || o.PerToken(drop("410 Gone")) {
		t.Error("web push: PerToken does not pick a 403 VAPID refusal alone")
	}
}
