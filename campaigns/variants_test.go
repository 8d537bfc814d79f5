package campaigns_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// An A/B test of 40/40 with a 20 % control group over 200 users: every user
// is in the variant campaigns.VariantOf names and gets that variant's
// message (the control group nothing, counted as control_group aborts), the
// split is near its percentages, and a second dispatch of the campaign keeps
// every user in their variant.
func TestVariantsAndControlGroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "ab", 200, "")
	ctx := context.Background()
	in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"ab","audience":{"filter":{"push_enabled":{}}},
		"variants":[{"id":"a","percent":40,"messages":{"apple_push":{"alert":"variant a"}}},
		            {"id":"b","percent":40,"messages":{"apple_push":{"alert":"variant b"}}}],
		"control_percent":20}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.Create(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if c.Definition.Variants[1].Messages["apple_push"]["alert"] != "variant b" {
		t.Fatalf("stored variants %+v", c.Definition.Variants)
	}
	p := rulesPipeline(t, e, campaigns.PipelineOptions{})
	var first map[string]string // user token -> variant seen
	for round := range 2 {
		spec := campaigns.Spec{Variants: c.Definition.Variants, ControlPercent: 20}
		id := "ab-" + string(rune('0'+round))
		page := pageFor(t, e.st, id, c.ID, spec, ids, time.Now())
		if err := p.Deliver(ctx, page); err != nil {
			t.Fatal(err)
		}
		d, _ := e.st.Dispatch(ctx, id)
		counts, err := e.svc.VariantCounts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int64{}
		for v, cs := range counts {
			for _, k := range cs {
				n[v] += k
			}
		}
		if n["a"]+n["b"]+n[campaigns.ControlGroup] != 200 || counts["a"]["delivered"] != n["a"] ||
			counts[campaigns.ControlGroup]["aborted:control_group"] != n[campaigns.ControlGroup] {
			t.Fatalf("round %d counts %v", round, counts)
		}
		for v, want := range map[string]int64{"a": 80, "b": 80, campaigns.ControlGroup: 40} {
			if n[v] < want-25 || n[v] > want+25 {
				t.Errorf("round %d: %s has %d users, want about %d", round, v, n[v], want)
			}
		}
		seen := map[string]string{}
		for _, r := range e.rec.List() {
			var pl struct {
				Aps struct{ Alert string } `json:"aps"`
			}
			_ = json.Unmarshal(r.Payload, &pl)
			seen[r.Token] += strings.TrimPrefix(pl.Aps.Alert, "variant ")
		}
		e.rec.Clear()
		if int64(len(seen)) != n["a"]+n["b"] {
			t.Fatalf("round %d: %d devices got messages, want %d", round, len(seen), n["a"]+n["b"])
		}
		for i, uid := range ids {
			tok := fmt.Sprintf("%x", sha256.Sum256([]byte(fmt.Sprintf("ab%d", i))))
			want := campaigns.VariantOf(d, uid)
			if want == campaigns.ControlGroup {
				want = ""
			}
			if seen[tok] != want {
				t.Fatalf("round %d: user %d got %q, VariantOf says %q", round, uid, seen[tok], want)
			}
		}
		if first == nil {
			first = seen
		} else {
			for tok, v := range seen {
				if first[tok] != v {
					t.Fatalf("device %s was in %q, now in %q", tok, first[tok], v)
				}
			}
		}
	}
}

func TestVariantValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	for body, field := range map[string]string{
		`"variants":[{"id":"a","percent":50,"messages":{"apple_push":{"alert":"x"}}}],"control_percent":10`:                                            "variants",
		`"messages":{"apple_push":{"alert":"x"}},"variants":[{"id":"a","percent":100,"messages":{"apple_push":{"alert":"x"}}}]`:                        "messages",
		`"variants":[{"id":"a","percent":50,"messages":{"apple_push":{"alert":"x"}}},{"id":"a","percent":50,"messages":{"apple_push":{"alert":"y"}}}]`: "variants[1].id",
		`"variants":[{"id":"control","percent":100,"messages":{"apple_push":{"alert":"x"}}}]`:                                                          "variants[0].id",
		`"variants":[{"id":"a","percent":100,"messages":{"apple_push":{"alert":"{{x"}}}]`:                                                              "variants[0].messages.apple_push",
		`"messages":{"apple_push":{"alert":"x"}},"control_percent":100`:                                                                                "control_percent",
	} {
		in, err := campaigns.DecodeInput(strings.NewReader(`{"name":"v","audience":{"filter":{"push_enabled":{}}},` + body + `}`))
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Create(context.Background(), in)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v, want a problem on %s", body, err, field)
		}
	}
}
