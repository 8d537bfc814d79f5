package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels/fake"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

func TestParseMix(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want [numChannels]int
		err  string
	}{
		{in: "ios:50,android:35,web:15", want: [numChannels]int{50, 35, 15}},
		{in: "web:1", want: [numChannels]int{0, 0, 1}},
		{in: " android:2 , ios:1", want: [numChannels]int{1, 2, 0}},
		{in: "ios:50,kindle:5", err: "platform ios, android or web"},
		{in: "ios", err: "platform:weight"},
		{in: "ios:-1", err: "non-negative"},
		{in: "ios:1,ios:2", err: "twice"},
		{in: "ios:0,web:0", err: "add up to 0"},
	} {
		got, err := parseMix(tc.in)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseMix(%q) error = %v, want one about %q", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseMix(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// testSet is a small audience whose web subscriptions come from a fake that
// is not listening (minting needs no socket).
func testSet(t *testing.T, n int, deadPct float64) *deviceSet {
	t.Helper()
	web := webpushfake.New(webpushfake.Config{BaseURL: "https://127.0.0.1:1"})
	s, err := newDeviceSet(n, [numChannels]int{50, 35, 15}, deadPct, web)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeviceSetFindsEveryDevice(t *testing.T) {
	t.Parallel()
	s := testSet(t, 500, 10)
	live, dead := 0, 0
	for i, d := range s.devices {
		if got := s.find(d.ch, d.key); got != i {
			t.Fatalf("find(%s, %q) = %d, want %d", channelNames[d.ch], d.key, got, i)
		}
		if d.dead != strings.Contains(d.key, "unregistered") {
			t.Fatalf("device %d: dead %v but key %q", i, d.dead, d.key)
		}
		if d.ch == chWeb {
			var sub struct {
				Endpoint string `json:"endpoint"`
			}
			if err := json.Unmarshal([]byte(d.token), &sub); err != nil || !strings.HasSuffix(sub.Endpoint, "/push/"+d.key) {
				t.Fatalf("web device %d: token %q, key %q", i, d.token, d.key)
			}
		}
		if d.dead {
			dead++
		} else {
			live++
		}
	}
	if live != s.totalLive() || dead != s.totalDead() || live+dead != 500 {
		t.Fatalf("live %d dead %d, set says %d and %d", live, dead, s.totalLive(), s.totalDead())
	}
	for _, tc := range []struct {
		ch    int
		token string
	}{{chAPNs, "short"}, {chAPNs, "zzzzzzzzzzzzzzzz"}, {chFCM, s.devices[0].key + "0"}, {chWeb, "nope"}} {
		if got := s.find(tc.ch, tc.token); got != -1 {
			t.Errorf("find(%s, %q) = %d, want -1", channelNames[tc.ch], tc.token, got)
		}
	}
}

func TestTallyCountsLostDuplicatesAndResends(t *testing.T) {
	t.Parallel()
	s := testSet(t, 200, 0)
	start := time.Now()
	tl := newTally(s, start, "dispatch-1")
	rec := func(i int, collapse string, payload string) fake.Record {
		d := s.devices[i]
		return fake.Record{Channel: channelNames[d.ch], Token: d.key, CollapseID: collapse, Payload: json.RawMessage(payload),
			ReceivedAt: start.Add(time.Duration(i) * time.Millisecond)}
	}
	good := func(i int) string {
		return `{"title":"` + userTitle(i) + `","body":"` + userBody(i) + `","herald_dispatch_id":"dispatch-1"}`
	}
	var recs []fake.Record
	for i := 2; i < 200; i++ { // devices 0 and 1 get nothing
		recs = append(recs, rec(i, "c", good(i)))
	}
	recs = append(recs,
		rec(5, "c", good(5)),                        // the same collapse id: a re-send the device replaces
		rec(6, "other", good(6)),                    // another collapse id: a duplicate
		rec(7, "c", `{"title":"`+userTitle(8)+`"}`), // a re-send with the wrong content
		fake.Record{Channel: "apns", Token: "not-ours", ReceivedAt: start.Add(time.Millisecond)},
	)
	tl.add(recs)
	if tl.lost() != 2 || tl.resends != 2 || tl.duplicates != 1 || tl.unknown != 1 || tl.wrongContent != 1 {
		t.Fatalf("lost %d resends %d duplicates %d unknown %d wrong %d", tl.lost(), tl.resends, tl.duplicates, tl.unknown, tl.wrongContent)
	}
	if tl.total() != len(recs) || tl.span() != 199*time.Millisecond || tl.firstAfter() != time.Millisecond {
		t.Fatalf("total %d span %s first %s", tl.total(), tl.span(), tl.firstAfter())
	}
}

func TestParseSweep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want []int
		err  string
	}{
		{name: "scale", args: nil, want: []int{1, 2, 3}},
		{name: "scale", args: []string{"--workers", "1, 4"}, want: []int{1, 4}},
		{name: "audience", args: nil, want: []int{10000, 100000, 1000000}},
		{name: "audience", args: []string{"--sizes", "500"}, want: []int{500}},
		{name: "scale", args: []string{"--workers", "0"}, err: "positive integers"},
		{name: "audience", args: []string{"--sizes", "10k"}, err: "positive integers"},
		{name: "scale", args: []string{"--store", "sqlite"}, err: "needs --store postgres"},
	} {
		p, err := parseSweep(tc.name, tc.args, io.Discard)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s %v: error %v, want one about %q", tc.name, tc.args, err, tc.err)
		case tc.err == "" && (err != nil || fmt.Sprint(p.values) != fmt.Sprint(tc.want) || p.env.store != "postgres"):
			t.Errorf("%s %v: %v %v (store %s), want %v on postgres", tc.name, tc.args, p.values, err, p.env.store, tc.want)
		}
	}
}

// The ratio is over the mean of the bare runs before and after Herald's,
// with each one's ratio beside it; without both runs there is none.
func TestFanoutRatios(t *testing.T) {
	r := &fanoutResult{Herald: &phaseResult{MsgsPerS: 8000}, Bare: &phaseResult{MsgsPerS: 10000}, BareAfter: &phaseResult{MsgsPerS: 12000}}
	r.setRatios()
	if r.Ratio != 0.73 || r.RatioBefore != 0.8 || r.RatioAfter != 0.67 {
		t.Errorf("ratios %v (before %v, after %v), want 0.73 (0.8, 0.67)", r.Ratio, r.RatioBefore, r.RatioAfter)
	}
	r = &fanoutResult{Herald: &phaseResult{MsgsPerS: 8000}, Bare: &phaseResult{MsgsPerS: 10000}}
	r.setRatios()
	if r.Ratio != 0 {
		t.Errorf("ratio without the second bare run: %v", r.Ratio)
	}
}
