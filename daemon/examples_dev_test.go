package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

// The abandoned-cart example runs end to end in herald dev, with its one
// hour delay shortened to two seconds: adding to the cart sends one message
// naming the product after the delay; checking out before it cancels.
func TestDevAbandonedCartExample(t *testing.T) {
	t.Parallel()
	call, n := startDevAPI(t)
	src, err := os.ReadFile("../examples/abandoned-cart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), "delay: 1h") {
		t.Fatal("the example's delay changed: adapt this test")
	}
	path := filepath.Join(t.TempDir(), "cart.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), "delay: 1h", "delay: 2s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	c := &cli{stdout: &out, stderr: &errb, env: NewEnv(nil)}
	if err := c.applyCampaign(context.Background(), n.campaigns, path); err != nil {
		t.Fatal(err)
	}
	if code := call("POST", "/manage/campaigns/abandoned-cart/launch", "", nil); code != 200 {
		t.Fatalf("launch: %d", code)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	body := fmt.Sprintf(`{"attributes":[
  {"external_id":"buyer","push_tokens":[{"app_id":"dev-ios","token":"ios-buyer"}]},
  {"external_id":"decided","push_tokens":[{"app_id":"dev-ios","token":"ios-decided"}]}],
 "events":[
  {"external_id":"buyer","name":"added_to_cart","time":%[1]q,"properties":{"product_name":"Reading lamp","price":49}},
  {"external_id":"decided","name":"added_to_cart","time":%[1]q,"properties":{"product_name":"Desk","price":300}},
  {"external_id":"decided","name":"checkout_completed","time":%[1]q}]}`, now)
	if code := call("POST", "/users/track", body, nil); code != 201 {
		t.Fatalf("track: %d", code)
	}
	start := time.Now()
	outbox := waitOutbox(t, call, 1)
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("sent after %s, before the delay", waited)
	}
	if outbox[0]["token"] != "ios-buyer" || titleOf(t, outbox[0]) != "Still thinking about the Reading lamp?" {
		t.Fatalf("message %v, title %q", outbox[0]["token"], titleOf(t, outbox[0]))
	}
	time.Sleep(2 * time.Second) // the cancelled send stays cancelled
	waitOutbox(t, call, 1)
}

// The lapsed-users example runs in herald dev as written: applied and
// launched, its next 10:00 Berlin occurrence (the scheduler tick run at that
// time: the fast clock) sends one personalized message to the user last seen
// ten days ago and none to the one seen two days ago; the same occurrence
// ticked again by a second scheduler sends nothing more.
func TestDevLapsedUsersExample(t *testing.T) {
	t.Parallel()
	call, n := startDevAPI(t)
	ctx := context.Background()
	body := `{"attributes":[
  {"external_id":"lapsed","first_name":"Ann","favorite_category":"teas","push_tokens":[{"app_id":"dev-ios","token":"ios-lapsed"}]},
  {"external_id":"active","first_name":"Bob","push_tokens":[{"app_id":"dev-ios","token":"ios-active"}]}]}`
	if code := call("POST", "/users/track", body, nil); code != 201 {
		t.Fatalf("track: %d", code)
	}
	ids, _, err := n.store.FindUserIDs(ctx, profiles.Lookup{ExternalIDs: []string{"lapsed", "active"}})
	if err != nil || len(ids) != 2 {
		t.Fatal(ids, err)
	}
	// sessions come with the SDK endpoint; until then they are stored directly
	now := time.Now()
	if err := n.store.AddSessions(ctx, []profiles.Session{{UserID: ids[0], AppID: "dev-ios", Time: now.Add(-10 * 24 * time.Hour)},
		{UserID: ids[1], AppID: "dev-ios", Time: now.Add(-2 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	c := &cli{stdout: &out, stderr: &errb, env: NewEnv(nil)}
	if err := c.applyCampaign(ctx, n.campaigns, "../examples/lapsed-7-days.yaml"); err != nil {
		t.Fatal(err)
	}
	if code := call("POST", "/manage/campaigns/lapsed-7-days/launch", "", nil); code != 200 {
		t.Fatalf("launch: %d", code)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	b := now.In(berlin)
	next := time.Date(b.Year(), b.Month(), b.Day()+1, 10, 0, 0, 0, berlin)
	for range 2 { // two scheduler replicas at 10:00:05
		if _, err := n.campaigns.RunSchedules(ctx, next.Add(5*time.Second), campaigns.SchedulerOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	outbox := waitOutbox(t, call, 1)
	if outbox[0]["token"] != "ios-lapsed" || titleOf(t, outbox[0]) != "We miss you, Ann" {
		t.Fatalf("message to %v titled %q", outbox[0]["token"], titleOf(t, outbox[0]))
	}
}
