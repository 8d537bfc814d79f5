package main

import (
	"net/http"
	"testing"

	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// TestStormScripts: off, the scripts leave every answer to the token's
// behaviour; on, they refuse one attempt in three, 429 with Retry-After: 1
// and 503 in turn, in each provider's format; attempts on unregistered
// tokens are counted either way.
func TestStormScripts(t *testing.T) {
	t.Parallel()
	f, err := startFakes()
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	for range 6 {
		if _, _, _, ok := f.apnsScript("abc"); ok {
			t.Fatal("APNs script answered with the storm off")
		}
	}
	f.setStorm(true)
	var apns, fcm, web []int
	for range 6 {
		if st, reason, after, ok := f.apnsScript("abc"); ok {
			apns = append(apns, st)
			if st == http.StatusTooManyRequests && (after != "1" || reason != "TooManyRequests") {
				t.Fatalf("APNs 429: reason %q Retry-After %q", reason, after)
			}
		}
		if a, ok := f.fcmScript("abc", 1); ok {
			fcm = append(fcm, a.Status)
			if a.Status == http.StatusTooManyRequests && (a.RetryAfter != "1" || a.Code != "QUOTA_EXCEEDED") {
				t.Fatalf("FCM 429: %+v", a)
			}
		}
	}
	for range 6 {
		if r, ok := f.webScript(webpushfake.Attempt{ID: "unregistered-x", N: 1}); ok {
			web = append(web, r.Status)
			if r.Status == http.StatusTooManyRequests && r.Header.Get("Retry-After") != "1" {
				t.Fatalf("Web Push 429 without Retry-After: %+v", r)
			}
		}
	}
	if len(apns)+len(fcm)+len(web) != 6 || f.stormedCount() != 6 {
		t.Fatalf("refused apns %v fcm %v web %v (stormed %d), want 6 of 18", apns, fcm, web, f.stormedCount())
	}
	seen := map[int]int{}
	for _, st := range append(append(apns, fcm...), web...) {
		seen[st]++
	}
	if seen[http.StatusTooManyRequests] != 3 || seen[http.StatusServiceUnavailable] != 3 {
		t.Fatalf("statuses %v, want three 429 and three 503", seen)
	}
	f.setStorm(false)
	if _, ok := f.fcmScript("unregistered-y", 1); ok {
		t.Fatal("FCM script answered after the storm")
	}
	if got := f.deadAttemptCounts(); got["unregistered-x"] != 6 || got["unregistered-y"] != 1 || len(got) != 2 {
		t.Fatalf("dead attempts %v", got)
	}
}
