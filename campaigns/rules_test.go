package campaigns_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/internal/testdeps"
	"github.com/herald-oss/herald/queue"
	"github.com/herald-oss/herald/store"
)

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.set(t); return c }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }

// pageFor stores a running dispatch of a campaign with one unqueued page of
// the listed users and returns its task payload.
func pageFor(t *testing.T, st *store.Store, id, campaignID string, spec campaigns.Spec, ids []int64, created time.Time) queue.DeliverPayload {
	t.Helper()
	if spec.RecipientSubscriptionState == "" {
		spec.RecipientSubscriptionState = campaigns.SubscriptionSubscribed
	}
	if spec.Messages == nil {
		spec.Messages = map[string]map[string]any{campaigns.ApplePush: {"alert": "hello " + id}}
	}
	d := &campaigns.Dispatch{ID: id, CampaignID: campaignID, Occurrence: "launch:" + id, Status: campaigns.DispatchRunning,
		Spec: spec, CreatedAt: created, UpdatedAt: created}
	if _, _, err := st.CreateDispatch(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if err := st.AddPages(context.Background(), id, []campaigns.Page{{FirstUserID: ids[0], UserIDs: ids}}, ids[len(ids)-1], true, created); err != nil {
		t.Fatal(err)
	}
	return queue.DeliverPayload{DispatchID: id, FirstUserID: ids[0]}
}

// rulesPipeline is a pipeline with rules options over e's store and fake.
func rulesPipeline(t *testing.T, e *env, o campaigns.PipelineOptions) *campaigns.Pipeline {
	t.Helper()
	o.PageRetry = time.Second
	p, err := campaigns.NewPipeline(e.st, senders{e.snd}, e.client, e.eng, noSegments, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// deliverCounts runs one page and returns its ledger counts.
func deliverCounts(t *testing.T, e *env, p *campaigns.Pipeline, page queue.DeliverPayload) (map[string]int64, error) {
	t.Helper()
	err := p.Deliver(context.Background(), page)
	counts, cerr := e.st.LedgerCounts(context.Background(), page.DispatchID)
	if cerr != nil {
		t.Fatal(cerr)
	}
	return counts, err
}

// usersWithDevices creates users u<i> with one iOS token each and the given
// time zone, returning their ids.
func usersWithDevices(t *testing.T, e *env, prefix string, n int, zone string) []int64 {
	t.Helper()
	var attrs, ext []string
	for i := range n {
		id := fmt.Sprintf("%s%d", prefix, i)
		tz := ""
		if zone != "" {
			tz = fmt.Sprintf(`,"time_zone":%q`, zone)
		}
		attrs = append(attrs, fmt.Sprintf(`{"external_id":%q%s,"push_tokens":[{"app_id":"app-ios","token":"%x"}]}`, id, tz, sha256.Sum256([]byte(id))))
		ext = append(ext, id)
	}
	for start := 0; start < len(attrs); start += 75 {
		e.track(t, `{"attributes":[`+strings.Join(attrs[start:min(start+75, len(attrs))], ",")+`]}`)
	}
	return e.userIDs(t, ext...)
}

// A global cap of 2 a day: the third message of the day is aborted as
// frequency_capped, a campaign that overrides capping is sent, and the day
// is the user's own (Kiritimati, +14).
func TestFrequencyCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "cap", 1, "Pacific/Kiritimati")
	kir, _ := time.LoadLocation("Pacific/Kiritimati")
	clk := newClock(time.Date(2026, 6, 1, 20, 0, 0, 0, kir)) // 20:00 local
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: clk.now,
		FrequencyCaps: []campaigns.CapRule{{Channel: campaigns.CapAnyChannel, Limit: 2, Window: campaigns.Window{N: 1, Unit: 'd'}}}})
	for i, want := range []string{"delivered", "delivered", "aborted:frequency_capped"} {
		id := fmt.Sprintf("cap-%d", i)
		counts, err := deliverCounts(t, e, p, pageFor(t, e.st, id, "camp-"+id, campaigns.Spec{}, ids, clk.now()))
		if err != nil || counts[want] != 1 || len(counts) != 1 {
			t.Fatalf("message %d: %v %v, want %s", i+1, counts, err, want)
		}
		clk.add(time.Minute)
	}
	over := campaigns.Spec{Rules: campaigns.Rules{OverrideFrequencyCapping: true}}
	if counts, err := deliverCounts(t, e, p, pageFor(t, e.st, "cap-override", "camp-o", over, ids, clk.now())); err != nil || counts["delivered"] != 1 {
		t.Fatalf("override: %v %v", counts, err)
	}
	// 23:59 local is still the same day; 00:01 the next
	clk.set(time.Date(2026, 6, 1, 23, 59, 0, 0, kir))
	if counts, _ := deliverCounts(t, e, p, pageFor(t, e.st, "cap-late", "camp-l", campaigns.Spec{}, ids, clk.now())); counts["aborted:frequency_capped"] != 1 {
		t.Fatalf("23:59 local: %v, want capped", counts)
	}
	clk.set(time.Date(2026, 6, 2, 0, 1, 0, 0, kir))
	if counts, _ := deliverCounts(t, e, p, pageFor(t, e.st, "cap-next", "camp-n", campaigns.Spec{}, ids, clk.now())); counts["delivered"] != 1 {
		t.Fatalf("00:01 local the next day: %v, want delivered", counts)
	}
	if n := e.rec.Len(); n != 4 {
		t.Fatalf("%d messages reached the device, want 4", n)
	}
	// a campaign that overrides capping is not capped, but its messages
	// count against the others'
	other := usersWithDevices(t, e, "capover", 1, "")
	for i, step := range []struct {
		spec campaigns.Spec
		want string
	}{{over, "delivered"}, {campaigns.Spec{}, "delivered"}, {campaigns.Spec{}, "aborted:frequency_capped"}} {
		id := fmt.Sprintf("capover-%d", i)
		if counts, _ := deliverCounts(t, e, p, pageFor(t, e.st, id, "camp-"+id, step.spec, other, clk.now())); counts[step.want] != 1 {
			t.Fatalf("%s: %v, want %s", id, counts, step.want)
		}
	}
}

// deliverConcurrently runs one page per spec on PostgreSQL, each in its own
// pipeline (a worker), all at once, to the same 20 users, and returns how
// many messages each device got. campaign names each page's campaign.
func deliverConcurrently(t *testing.T, prefix string, specs []campaigns.Spec, campaign func(i int) string, o campaigns.PipelineOptions) map[string]int {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{Driver: "postgres", PostgresDSN: testdeps.Postgres(t), PostgresMaxConns: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st)
	ids := usersWithDevices(t, e, prefix, 20, "")
	var wg sync.WaitGroup
	errs := make(chan error, len(specs))
	for i, spec := range specs {
		page := pageFor(t, st, fmt.Sprintf("%s-%d", prefix, i), campaign(i), spec, ids, time.Now())
		p := rulesPipeline(t, e, o)
		wg.Go(func() { errs <- p.Deliver(context.Background(), page) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	perToken := map[string]int{}
	for _, r := range e.rec.List() {
		perToken[r.Token]++
	}
	if len(perToken) != 20 {
		t.Fatalf("%d devices got messages, want 20", len(perToken))
	}
	return perToken
}

// Six dispatches to the same 20 users run at once in six workers under a
// cap of 2 a day: every user gets exactly 2 messages.
func TestFrequencyCapHoldsUnderConcurrentWorkersPostgres(t *testing.T) {
	t.Parallel()
	caps := []campaigns.CapRule{{Channel: campaigns.ApplePush, Limit: 2, Window: campaigns.Window{N: 12, Unit: 'h'}}}
	perToken := deliverConcurrently(t, "conc", make([]campaigns.Spec, 6), func(i int) string { return fmt.Sprintf("camp-%d", i) },
		campaigns.PipelineOptions{FrequencyCaps: caps})
	for tok, n := range perToken {
		if n != 2 {
			t.Errorf("device %s got %d messages, want 2", tok, n)
		}
	}
}

// Four dispatches of one campaign that users receive only once run at once
// in four workers: every user gets exactly one message.
func TestReEligibilityHoldsUnderConcurrentWorkersPostgres(t *testing.T) {
	t.Parallel()
	once := campaigns.Spec{Rules: campaigns.Rules{ReEligibility: &campaigns.ReEligibility{Never: true}}}
	perToken := deliverConcurrently(t, "once", []campaigns.Spec{once, once, once, once}, func(int) string { return "camp-once" },
		campaigns.PipelineOptions{})
	for tok, n := range perToken {
		if n != 1 {
			t.Errorf("device %s got %d messages, want 1", tok, n)
		}
	}
}

// Re-eligibility: after 30 minutes, or never.
func TestReEligibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "re", 1, "")
	clk := newClock(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: clk.now})
	after := campaigns.Spec{Rules: campaigns.Rules{ReEligibility: &campaigns.ReEligibility{After: "30m"}}}
	never := campaigns.Spec{Rules: campaigns.Rules{ReEligibility: &campaigns.ReEligibility{Never: true}}}
	steps := []struct {
		id, campaign string
		spec         campaigns.Spec
		advance      time.Duration
		want         string
	}{
		{"re-1", "c-after", after, 0, "delivered"},
		{"re-2", "c-after", after, 10 * time.Minute, "aborted:not_re_eligible"},
		{"re-3", "c-after", after, 21 * time.Minute, "delivered"}, // 31 minutes after the first
		{"re-4", "c-never", never, 0, "delivered"},
		{"re-5", "c-never", never, 30 * 24 * time.Hour, "aborted:not_re_eligible"},
		{"re-6", "c-other", after, 0, "delivered"}, // another campaign is not affected
	}
	for _, s := range steps {
		clk.add(s.advance)
		counts, err := deliverCounts(t, e, p, pageFor(t, e.st, s.id, s.campaign, s.spec, ids, clk.now()))
		if err != nil || counts[s.want] != 1 {
			t.Fatalf("%s: %v %v, want %s", s.id, counts, err, s.want)
		}
		// the page run again decides the same (its send is remembered)
		if again, _ := deliverCounts(t, e, p, pageFor2(s.id)); fmt.Sprint(again) != fmt.Sprint(counts) {
			t.Fatalf("%s run again: %v, was %v", s.id, again, counts)
		}
	}
}

func pageFor2(id string) queue.DeliverPayload { return queue.DeliverPayload{DispatchID: id} }

// Quiet hours 22:00-08:00: users inside them are held until they end (the
// page waits for the earliest end), users outside (or placed by the company
// zone) are sent at once; with action abort they are aborted as quiet_hours.
func TestQuietHours(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ny := usersWithDevices(t, e, "ny", 1, "America/New_York")[0]
	berlin := usersWithDevices(t, e, "berlin", 1, "Europe/Berlin")[0]
	tokyo := usersWithDevices(t, e, "tokyo", 1, "Asia/Tokyo")[0]
	nozone := usersWithDevices(t, e, "nozone", 1, "")[0]
	tokyoZone, _ := time.LoadLocation("Asia/Tokyo")
	// 03:00 UTC: 23:00 in New York, 05:00 in Berlin, 12:00 in Tokyo
	clk := newClock(time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC))
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: clk.now, DefaultZone: tokyoZone})
	hold := campaigns.Spec{Rules: campaigns.Rules{QuietHours: &campaigns.QuietHours{Start: "22:00", End: "08:00", Action: campaigns.QuietHold}}}
	page := pageFor(t, e.st, "quiet", "c-quiet", hold, []int64{ny, berlin, tokyo, nozone}, clk.now())
	counts, err := deliverCounts(t, e, p, page)
	var b *queue.Backoff
	if !errors.As(err, &b) || b.After != 3*time.Hour || counts["delivered"] != 2 || len(counts) != 1 {
		t.Fatalf("first run: %v %v, want Tokyo and the zoneless user sent, the page back at 08:00 Berlin (3h)", counts, err)
	}
	clk.add(3 * time.Hour) // 08:00 Berlin, 02:00 New York
	counts, err = deliverCounts(t, e, p, page)
	if !errors.As(err, &b) || b.After != 6*time.Hour || counts["delivered"] != 3 {
		t.Fatalf("at 08:00 Berlin: %v %v", counts, err)
	}
	clk.add(6 * time.Hour)
	if counts, err = deliverCounts(t, e, p, page); err != nil || counts["delivered"] != 4 {
		t.Fatalf("at 08:00 New York: %v %v", counts, err)
	}
	abort := campaigns.Spec{Rules: campaigns.Rules{QuietHours: &campaigns.QuietHours{Start: "22:00", End: "08:00", Action: campaigns.QuietAbort}}}
	clk.set(time.Date(2026, 6, 2, 3, 0, 0, 0, time.UTC))
	counts, err = deliverCounts(t, e, p, pageFor(t, e.st, "quiet-abort", "c-qa", abort, []int64{ny, tokyo}, clk.now()))
	if err != nil || counts["aborted:quiet_hours"] != 1 || counts["delivered"] != 1 {
		t.Fatalf("abort: %v %v", counts, err)
	}
}

// A rate limit of 5 a minute, shared through Redis: a page of 12 sends 5
// per minute, the rest given back to the ledger without counting an attempt;
// after 72 hours what still waits is aborted as rate_limit.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "rl", 12, "")
	start := time.Date(2026, 6, 1, 12, 0, 1, 0, time.UTC)
	clk := newClock(start)
	_, prefix := testdeps.RedisOrMini(t)
	lim := queue.NewRateLimiter(e.rc, prefix, clk.now)
	p := rulesPipeline(t, e, campaigns.PipelineOptions{Now: clk.now, Limiter: lim, MaxAttempts: 1})
	spec := campaigns.Spec{Rules: campaigns.Rules{RateLimit: &campaigns.RateLimit{PerMinute: 5}}}
	page := pageFor(t, e.st, "rl", "c-rl", spec, ids, start)
	var b *queue.Backoff
	for i, want := range []int64{5, 5, 10, 12} {
		counts, err := deliverCounts(t, e, p, page)
		if counts["delivered"] != want {
			t.Fatalf("run %d: %v %v, want %d delivered", i+1, counts, err, want)
		}
		if want < 12 && (!errors.As(err, &b) || counts["retry"] != 12-want) {
			t.Fatalf("run %d: %v %v, want a backoff and the rest in retry", i+1, counts, err)
		}
		if i != 0 {
			clk.add(time.Minute)
		}
	}
	// MaxAttempts 1: had the deferrals counted as attempts, the later
	// messages would have failed as exhausted_retries
	late := pageFor(t, e.st, "rl-late", "c-rl2", spec, ids[:3], start)
	clk.set(start.Add(73 * time.Hour))
	if counts, err := deliverCounts(t, e, p, late); err != nil || counts["aborted:rate_limit"] != 3 {
		t.Fatalf("after 72h: %v %v", counts, err)
	}
}
