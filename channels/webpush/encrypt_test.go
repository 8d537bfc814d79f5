package webpush

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// A batch to one push service is signed once: every request carries the
// same VAPID header, and the fake (which checks the JWT and decrypts every
// body) accepts them all.
func TestSendSignsOncePerOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{})
	rec := &authRecorder{next: e.sender.client, seen: map[string]int{}}
	e.sender.client = rec
	var msgs []channels.Message
	for i := range 20 {
		msgs = append(msgs, message("m"+string(rune('a'+i)), e.subscribe(t, "")))
	}
	for i, r := range e.sender.Send(context.Background(), msgs) {
		if r.Outcome != channels.Delivered {
			t.Fatalf("message %d: %+v", i, r)
		}
	}
	if len(e.srv.Recorder().List()) != len(msgs) || len(rec.seen) != 1 {
		t.Errorf("%d pushes received, %d distinct Authorization headers %v; want %d, one", len(e.srv.Recorder().List()), len(rec.seen), rec.seen, len(msgs))
	}
}

// authRecorder counts the Authorization headers of the requests it passes on.
type authRecorder struct {
	next httpDoer
	mu   sync.Mutex
	seen map[string]int
}

func (a *authRecorder) Do(req *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.seen[req.Header.Get("Authorization")]++
	a.mu.Unlock()
	return a.next.Do(req)
}

func TestVAPIDHeaderRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	pub, priv, err := GenerateVAPIDKeys()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	v, err := newVAPIDSigner(Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "ops@example.com"}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	first, _ := v.header("https://push.example")
	claims := func(h string) jwt.MapClaims {
		t.Helper()
		tok, ok := strings.CutPrefix(h, "vapid t=")
		tok, k, ok2 := strings.Cut(tok, ", k=")
		if !ok || !ok2 || k != pub {
			t.Fatalf("header %q", h)
		}
		c := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := claims(first)
	if c["aud"] != "https://push.example" || c["sub"] != "mailto:ops@example.com" || c["exp"] != float64(now.Add(12*time.Hour).Unix()) {
		t.Errorf("claims %v", c)
	}
	if other, _ := v.header("https://other.example"); other == first || claims(other)["aud"] != "https://other.example" {
		t.Errorf("another origin got %q", other)
	}
	now = now.Add(10 * time.Hour)
	if again, _ := v.header("https://push.example"); again != first {
		t.Errorf("header renewed after 10 hours")
	}
	now = now.Add(time.Hour + time.Second)
	if renewed, _ := v.header("https://push.example"); renewed == first || claims(renewed)["exp"] != float64(now.Add(12*time.Hour).Unix()) {
		t.Errorf("header not renewed an hour before expiry")
	}
}

func TestEncryptFillsOneRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t, webpushfake.Config{}, Options{})
	sub, err := ParseSubscription(e.subscribe(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, MaxPayloadSize} {
		body, err := encrypt(make([]byte, n), sub.Keys)
		if err != nil || len(body) != RecordSize {
			t.Errorf("plaintext of %d bytes: body of %d bytes, %v", n, len(body), err)
		}
	}
	if _, err := encrypt(make([]byte, MaxPayloadSize+1), sub.Keys); !errors.Is(err, errPayloadTooLarge) {
		t.Errorf("plaintext over the limit: %v", err)
	}
	if _, err := encrypt(nil, Keys{P256dh: sub.Keys.Auth, Auth: sub.Keys.Auth}); err == nil {
		t.Error("a p256dh that is no point: no error")
	}
}
