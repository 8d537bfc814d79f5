package campaigns_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/apns"
	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fake"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/seal"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/templates"
)

// env is a whole pipeline: a store, a queue on Redis, a fake APNs over TLS.
type env struct {
	st       *store.Store
	svc      *campaigns.Service
	pipe     *campaigns.Pipeline
	client   *queue.Client
	rec      *fake.Recorder
	profiles *profiles.Service
	users    users
	snd      channels.Sender // the APNs sender to the fake
	eng      *templates.Engine
	rc       *redis.Client
}

// senders hands the one APNs sender to the app "app-ios".
type senders struct{ s channels.Sender }

func (s senders) For(_ context.Context, appID string) (channels.Sender, string, error) {
	if appID != "app-ios" {
		return nil, "", fmt.Errorf("no app %q", appID)
	}
	return s.s, channels.APNs, nil
}

// users adapts the store and profiles service to campaigns.Users.
type users struct {
	st  *store.Store
	svc *profiles.Service
}

func (u users) FindUserIDs(ctx context.Context, l profiles.Lookup) ([]int64, []string, error) {
	return u.st.FindUserIDs(ctx, l)
}

func (u users) Track(ctx context.Context, body []byte) error {
	req, err := profiles.DecodeTrack(strings.NewReader(string(body)), time.Now(), profiles.DefaultLimits())
	if err != nil {
		return err
	}
	_, err = u.svc.Track(ctx, req)
	return err
}

func newEnv(t *testing.T, st *store.Store) *env { return newEnvWorkers(t, st, 1, time.Minute) }

// newEnvWorkers starts workers queue servers, each with its own pipeline (as
// separate worker processes would), sharing the store, Redis and the fake.
func newEnvWorkers(t *testing.T, st *store.Store, workers int, lease time.Duration) *env {
	t.Helper()
	ctx := context.Background()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	box, _ := seal.New(make([]byte, 32))
	if _, err := profiles.NewAppService(st, box, nil).Create(ctx, "app-ios", "iOS", "ios"); err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rec := fake.NewRecorder(10000)
	srv, err := apnsfake.StartServer(apnsfake.Config{Keys: map[string]*ecdsa.PublicKey{"KEY1234567": &key.PublicKey},
		TeamID: "TEAM123456", Topics: map[string]string{"com.example.app": "app-ios"}, Recorder: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	snd, err := apns.New(ctx, apns.Credentials{KeyP8: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		KeyID: "KEY1234567", TeamID: "TEAM123456", Topic: "com.example.app", Host: srv.URL},
		apns.Options{RootCAs: srv.Pool(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { snd.Close() })

	addr, _ := testdeps.RedisOrMini(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rc.Close() })
	qname := "herald-test-" + testdeps.Random(8)
	client := queue.NewClient(rc, queue.ClientOptions{Queue: qname, Retention: time.Hour})
	eng := templates.New(templates.Options{})
	resolver := func(context.Context, string) (*segments.Filter, error) { return nil, campaigns.ErrNotFound }
	svc := campaigns.NewService(st, client, eng, resolver, nil)
	triggers := campaigns.NewTriggers(st, campaigns.TriggerOptions{TTL: time.Nanosecond})
	psvc := profiles.NewService(st, profiles.Options{OnEvents: triggers.OnEvents})
	u := users{st: st, svc: psvc}
	var pipe *campaigns.Pipeline
	for range workers {
		pipe, err = campaigns.NewPipeline(st, senders{snd}, client, eng, resolver, campaigns.PipelineOptions{PageRetry: time.Second, Lease: lease})
		if err != nil {
			t.Fatal(err)
		}
		server := queue.NewServer(rc, campaigns.Handlers{Pipeline: pipe, Service: svc, Users: u},
			queue.ServerOptions{Queue: qname, Concurrency: 4, ShutdownTimeout: 5 * time.Second})
		if err := server.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(server.Shutdown)
	}
	return &env{st: st, svc: svc, pipe: pipe, client: client, rec: rec, profiles: psvc, users: u, snd: snd, eng: eng, rc: rc}
}

// track ingests a /users/track body.
func (e *env) track(t *testing.T, body string) {
	t.Helper()
	if err := e.users.Track(context.Background(), []byte(body)); err != nil {
		t.Fatal(err)
	}
}

// waitDone waits until the dispatch is done and returns it.
func (e *env) waitDone(t *testing.T, id string) *campaigns.Dispatch {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := e.st.Dispatch(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == campaigns.DispatchDone {
			return d
		}
		if time.Now().After(deadline) {
			counts, _ := e.st.LedgerCounts(context.Background(), id)
			t.Fatalf("dispatch %s still %s after 90s (pages %d/%d, paging done %v, ledger %v)", id, d.Status, d.PagesDone, d.Pages, d.PagingDone, counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCampaignEndToEndSQLite(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runEndToEnd(t, newEnv(t, st))
}

func TestCampaignEndToEndPostgres(t *testing.T) {
	t.Parallel()
	st, _ := openPostgres(t)
	runEndToEnd(t, newEnv(t, st))
}

func runEndToEnd(t *testing.T, e *env) {
	ctx := context.Background()
	// 1,200 users (three pages): gold users are the audience; some have no
	// token, a dead token, or are unsubscribed.
	want := map[string]string{} // token -> expected title
	for batch := 0; batch < 1200; batch += 50 {
		var attrs []string
		for i := batch; i < batch+50; i++ {
			plan := []string{"gold", "silver"}[i%2]
			a := fmt.Sprintf(`{"external_id":"u%04d","first_name":"User%d","plan":%q`, i, i, plan)
			tok := fmt.Sprintf("%064x", i)
			switch {
			case i%10 == 0: // no token
			case i%10 == 2:
				tok = fmt.Sprintf("unregistered-%d", i)
				a += fmt.Sprintf(`,"push_tokens":[{"app_id":"app-ios","token":%q}]`, tok)
			case i%10 == 4:
				a += fmt.Sprintf(`,"push_subscribe":"unsubscribed","push_tokens":[{"app_id":"app-ios","token":%q}]`, tok)
			default:
				a += fmt.Sprintf(`,"push_tokens":[{"app_id":"app-ios","token":%q}]`, tok)
				if plan == "gold" {
					want[tok] = fmt.Sprintf("Hi User%d", i)
				}
			}
			attrs = append(attrs, a+"}")
		}
		e.track(t, `{"attributes":[`+strings.Join(attrs, ",")+`]}`)
	}
	c, err := e.svc.Create(ctx, &campaigns.Input{Name: "gold push",
		Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":{"title":"Hi {{${first_name} | default: 'there'}}","body":"Your {{custom_attribute.${plan}}} perks"}}`),
			"content_card": json.RawMessage(`{"type":"CLASSIC","title":"Welcome {{${first_name}}}","description":"{{custom_attribute.${plan}}} member","time_to_live":86400}`)},
		Audience: &campaigns.Audience{Filter: json.RawMessage(`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}`)}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.svc.Launch(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	done := e.waitDone(t, d.ID)
	if done.Pages != 2 { // 600 gold users: pages of 500
		t.Errorf("pages = %d, want 2", done.Pages)
	}
	// its one dispatch done, the one-time campaign is completed (the last
	// page's worker marks it just after the dispatch)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got, err := e.svc.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status == campaigns.StatusCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("campaign status %s after its dispatch is done, want completed", got.Status)
		}
	}
	if err := e.svc.Pause(ctx, c.ID); !errors.Is(err, campaigns.ErrConflict) {
		t.Errorf("pausing a completed campaign: %v, want a conflict", err)
	}

	got := map[string]string{}
	for _, r := range e.rec.List() {
		var p struct {
			Aps struct {
				Alert struct{ Title, Body string } `json:"alert"`
			} `json:"aps"`
		}
		if err := json.Unmarshal(r.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if _, dup := got[r.Token]; dup {
			t.Errorf("token %s got two messages", r.Token)
		}
		got[r.Token] = p.Aps.Alert.Title
		if p.Aps.Alert.Body != "Your gold perks" {
			t.Errorf("body %q", p.Aps.Alert.Body)
		}
		if r.CollapseID == "" {
			t.Errorf("no collapse id on %s", r.Token)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d messages accepted, want %d", len(got), len(want))
	}
	for tok, title := range want {
		if got[tok] != title {
			t.Errorf("token %s…: title %q, want %q", tok[:8], got[tok], title)
		}
	}
	counts, err := e.st.LedgerCounts(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 600 gold users (even i): pushes by i%10, 120 without a token, 120 with
	// a dead one, 120 unsubscribed, 240 delivered; and 600 cards (a card
	// needs neither a token nor a push subscription).
	wantCounts := map[string]int64{"delivered": 240 + 600, "dropped": 120, "aborted:no_valid_token": 120, "aborted:not_subscribed": 120}
	for k, v := range wantCounts {
		if counts[k] != v {
			t.Errorf("ledger %s = %d, want %d (all: %v)", k, counts[k], v, counts)
		}
	}
	u4, _, _ := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"u0004"}})
	cards, err := e.st.Cards(ctx, u4[0], time.Now())
	if err != nil || len(cards) != 1 || cards[0].Card["title"] != "Welcome User4" || cards[0].Card["description"] != "gold member" {
		t.Errorf("cards of an unsubscribed gold user: %+v %v", cards, err)
	}
	dev, err := e.st.FindDevice(ctx, "app-ios", "unregistered-2", false)
	if err != nil || dev.Valid() {
		t.Errorf("dead token not pruned: %+v %v", dev, err)
	}

	// Launching again returns the same dispatch and sends nothing new; so
	// does running a page again (a redelivered task).
	again, err := e.svc.Launch(ctx, c.ID)
	if err != nil || again.ID != d.ID {
		t.Fatalf("second launch: %v %v", again, err)
	}
	var gold []string
	for i := 0; i < 1200; i += 2 {
		gold = append(gold, fmt.Sprintf("u%04d", i))
	}
	ids, _, err := e.st.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: gold})
	if err != nil || len(ids) != 600 {
		t.Fatal(len(ids), err)
	}
	if err := e.pipe.Deliver(ctx, queue.DeliverPayload{DispatchID: d.ID, FirstUserID: slices.Min(ids)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.rec.Len(); n != len(want) {
		t.Errorf("after relaunch and redelivery: %d messages, want %d", n, len(want))
	}
}

// An ad-hoc send to listed users with an audience sends only to those in it.
func TestSendToListedUsersWithinAnAudience(t *testing.T) {
	t.Parallel()
	st, err := store.Open(context.Background(), store.Options{Driver: "sqlite", SQLitePath: filepath.Join(t.TempDir(), "h.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnv(t, st)
	var attrs []string
	for i := range 4 {
		attrs = append(attrs, fmt.Sprintf(`{"external_id":"s%d","plan":%q,"push_tokens":[{"app_id":"app-ios","token":"%064x"}]}`,
			i, []string{"gold", "silver"}[i%2], 100+i))
	}
	e.track(t, `{"attributes":[`+strings.Join(attrs, ",")+`]}`)
	d, err := e.svc.Send(context.Background(), e.users, &campaigns.SendRequest{
		ExternalUserIDs: []string{"s0", "s1", "s2", "nobody"},
		Audience:        json.RawMessage(`{"custom_attribute":{"custom_attribute_name":"plan","comparison":"equals","value":"gold"}}`),
		Messages:        map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"gold only"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	e.waitDone(t, d.ID)
	counts, _ := e.st.LedgerCounts(context.Background(), d.ID)
	if e.rec.Len() != 2 || counts["delivered"] != 2 || counts["aborted:user_not_in_segment"] != 1 {
		t.Errorf("%d messages, ledger %v; want s0 and s2 only", e.rec.Len(), counts)
	}
	// nobody found: an empty dispatch, never the whole audience
	d, err = e.svc.Send(context.Background(), e.users, &campaigns.SendRequest{ExternalUserIDs: []string{"nobody"},
		Audience: json.RawMessage(`{"push_enabled":{}}`), Messages: map[string]json.RawMessage{"apple_push": json.RawMessage(`{"alert":"x"}`)}})
	if err != nil {
		t.Fatal(err)
	}
	if done := e.waitDone(t, d.ID); done.Pages != 0 || e.rec.Len() != 2 {
		t.Errorf("a send to nobody: %d pages, %d messages", done.Pages, e.rec.Len())
	}
}
