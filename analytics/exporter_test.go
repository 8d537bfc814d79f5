package analytics_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/herald-oss/herald/analytics"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
	"github.com/herald-oss/herald/store/storetest"
)

func openSQLite(t *testing.T) *store.Store   { return storetest.Open(t, "sqlite") }
func openPostgres(t *testing.T) *store.Store { return storetest.Open(t, "postgres") }

// receiver records every event it takes; while failing is set it answers 503.
type receiver struct {
	mu      sync.Mutex
	failing bool
	events  []analytics.Event
	auth    []string
	batches int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auth = append(r.auth, req.Header.Get("Authorization"))
	if r.failing || req.Header.Get("Content-Type") != "application/x-ndjson" {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	sc := bufio.NewScanner(req.Body)
	for sc.Scan() {
		var e analytics.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.events = append(r.events, e)
	}
	r.batches++
}

func (r *receiver) snapshot() ([]analytics.Event, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]analytics.Event(nil), r.events...), append([]string(nil), r.auth...)
}

func (r *receiver) setFailing(f bool) {
	r.mu.Lock()
	r.failing = f
	r.mu.Unlock()
}

func addRows(t *testing.T, s *store.Store, from, n int) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(-time.Minute)
	var eng []campaigns.Engagement
	var evs []profiles.Event
	for i := from; i < from+n; i++ { // the first user's message bounced, the others' were delivered
		e := campaigns.Engagement{LedgerKey: campaigns.LedgerKey{DispatchID: "d1", UserID: int64(i), Channel: campaigns.ApplePush, Device: "dev"},
			CampaignID: "c1", Kind: campaigns.EventDelivery, At: at}
		if i == from {
			e.Kind, e.Reason = campaigns.EventBounce, "BadDeviceToken"
		}
		eng = append(eng, e)
		evs = append(evs, profiles.Event{UserID: int64(i), Name: "played", Time: at, Properties: json.RawMessage(`{"level":3}`)})
	}
	if err := s.Record(ctx, nil, eng, "", time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.InTx(ctx, func(tx profiles.Tx) error { return tx.AddEvents(ctx, evs) }); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestExportSQLite(t *testing.T) {
	t.Parallel()
	testExport(t, openSQLite(t))
}

func TestExportPostgres(t *testing.T) {
	t.Parallel()
	testExport(t, openPostgres(t))
}

func testExport(t *testing.T, s *store.Store) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	conn := analytics.Connector{Name: fmt.Sprintf("warehouse-%d", time.Now().UnixNano()), URL: srv.URL, Token: "s3cret", BatchSize: 4, FlushInterval: 20 * time.Millisecond}
	opt := analytics.Options{SafetyLag: time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}
	metrics := analytics.NewMetrics(nil)

	addRows(t, s, 1, 5) // 5 engagement rows (each also a Send: 10 events), 5 custom events
	rcv.setFailing(true)
	ex := analytics.New(s, []analytics.Connector{conn}, metrics, opt)
	if err := ex.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "failed batches", func() bool { return value(metrics.Batches.WithLabelValues(conn.Name, "failed")) >= 3 })
	waitFor(t, "lag", func() bool { return value(metrics.Lag.WithLabelValues(conn.Name)) >= 59 })
	rcv.setFailing(false)
	waitFor(t, "15 events", func() bool { evs, _ := rcv.snapshot(); return len(evs) >= 15 })
	waitFor(t, "no lag", func() bool { return value(metrics.Lag.WithLabelValues(conn.Name)) == 0 })
	if err := ex.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A restarted exporter (another owner) resumes from the durable cursor.
	addRows(t, s, 100, 2) // 6 events more
	ex = analytics.New(s, []analytics.Connector{conn}, analytics.NewMetrics(nil), opt)
	if err := ex.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "21 events", func() bool { evs, _ := rcv.snapshot(); return len(evs) >= 21 })
	time.Sleep(100 * time.Millisecond)
	if err := ex.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	evs, auth := rcv.snapshot()
	if len(evs) != 21 {
		t.Errorf("got %d events, want 21 (each once: only failed batches are sent again)", len(evs))
	}
	for _, a := range auth {
		if a != "Bearer s3cret" {
			t.Fatalf("Authorization %q", a)
		}
	}
	ids := map[string]bool{}
	types := map[string]int{}
	for _, e := range evs {
		if ids[e.ID] {
			t.Errorf("duplicate id %s", e.ID)
		}
		ids[e.ID] = true
		types[e.EventType]++
		if e.EventType == "users.messages.pushnotification.Bounce" && (e.Properties["reason"] != "BadDeviceToken" || e.Properties["platform"] != "ios") {
			t.Errorf("bounce properties %v", e.Properties)
		}
		if e.EventType == "users.behaviors.CustomEvent" && e.Properties["name"] != "played" {
			t.Errorf("custom event properties %v", e.Properties)
		}
		if e.Time == 0 || e.User.UserID == "" {
			t.Errorf("event %+v", e)
		}
	}
	want := map[string]int{"users.messages.pushnotification.Send": 7, "users.messages.pushnotification.Delivery": 5,
		"users.messages.pushnotification.Bounce": 2, "users.behaviors.CustomEvent": 7}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%s: %d, want %d (all %v)", k, types[k], v, types)
		}
	}
}

func TestIDStable(t *testing.T) {
	t.Parallel()
	r := analytics.Record{Source: analytics.SourceEngagement, Seq: 1, DispatchID: "d", UserID: 1, Channel: "apple_push", Device: "x", Kind: "send"}
	r2 := r
	r2.Seq = 99 // the engagement id comes from the row's key, not its seq
	if analytics.ID(r) != analytics.ID(r2) {
		t.Fatal("engagement id depends on seq")
	}
	r2.Kind = "delivery"
	if analytics.ID(r) == analytics.ID(r2) {
		t.Fatal("different events share an id")
	}
	ev := analytics.Record{Source: analytics.SourceEvents, Seq: 1}
	pu := analytics.Record{Source: analytics.SourcePurchases, Seq: 1}
	if analytics.ID(ev) == analytics.ID(pu) {
		t.Fatal("an event and a purchase share an id")
	}
}

func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}
