package apns

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sideshow/apns2"

	"github.com/herald-oss/herald/channels"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var goldenNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func TestBuildPayloadGolden(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"alert_string": `{"alert":"Hello there"}`,
		"alert_object_full": `{
			"alert": {"title":"Sale","body":"50% off","title_loc_key":"T","loc_key":"B","loc_args":["a","b"],"action_loc_key":"OPEN","sound":"ignored"},
			"subtitle": "today only", "badge": 3, "sound": "default", "category": "ab_cat_yes_no",
			"notification_group_thread_id": "promo", "interruption_level": "time-sensitive", "relevance_score": 0.75,
			"extra": {"deep": {"n": 1}, "plan": "gold"}, "custom_uri": "https://example.com/sale", "use_webview": false,
			"collapse_id": "sale-1", "apns_priority": 5, "expiry": "2026-12-01T00:00:00Z",
			"send_to_most_recent_device_only": true, "message_variation_id": "v1"}`,
		"rich_media":    `{"alert":{"title":"Look","body":"a picture"},"asset_url":"https://cdn.example.com/p.jpg","asset_file_type":"jpg"}`,
		"silent":        `{"content-available":true,"extra":{"sync":"inbox"}}`,
		"voip":          `{"alert":"Call","push_type":"voip","expiry":"3600"}`,
		"mutable_badge": `{"badge":0,"mutable_content":true,"sound":{"critical":1,"name":"siren.caf","volume":0.5}}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := BuildPayload(message("m1", "tok", object(t, in)), goldenNow)
			if err != nil {
				t.Fatal(err)
			}
			got := goldenOf(t, p)
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if want := readFile(t, path); !bytes.Equal(got, want) {
				t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
			}
		})
	}
}

// goldenOf renders a Payload for a golden file.
func goldenOf(t *testing.T, p Payload) []byte {
	t.Helper()
	var exp string
	if !p.Expiration.IsZero() {
		exp = p.Expiration.UTC().Format(time.RFC3339)
	}
	out, err := json.MarshalIndent(struct {
		PushType   string          `json:"push_type"`
		Priority   int             `json:"priority"`
		Expiration string          `json:"expiration,omitempty"`
		CollapseID string          `json:"collapse_id,omitempty"`
		Body       json.RawMessage `json:"body"`
	}{string(p.PushType), p.Priority, exp, p.CollapseID, p.Body}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// decodeBody decodes a payload body.
func decodeBody(t *testing.T, p Payload) (map[string]any, map[string]any) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(p.Body, &body); err != nil {
		t.Fatal(err)
	}
	a, _ := body["aps"].(map[string]any)
	return body, a
}

func TestBuildPayloadFields(t *testing.T) {
	t.Parallel()
	build := func(t *testing.T, m channels.Message) (Payload, map[string]any, map[string]any) {
		t.Helper()
		p, err := BuildPayload(m, goldenNow)
		if err != nil {
			t.Fatal(err)
		}
		body, a := decodeBody(t, p)
		return p, body, a
	}
	t.Run("message collapse id wins over collapse_id", func(t *testing.T) {
		m := message("m1", "tok", object(t, `{"alert":"x","collapse_id":"braze"}`))
		m.CollapseID = "herald-ledger-1"
		if p, _, _ := build(t, m); p.CollapseID != "herald-ledger-1" {
			t.Errorf("collapse id %q", p.CollapseID)
		}
		m.CollapseID = ""
		if p, _, _ := build(t, m); p.CollapseID != "braze" {
			t.Errorf("fallback collapse id %q", p.CollapseID)
		}
	})
	t.Run("herald ids win over extra", func(t *testing.T) {
		_, body, _ := build(t, message("m9", "tok", object(t, `{"alert":"x","extra":{"herald_message_id":"spoof","k":"v"}}`)))
		if body[KeyMessageID] != "m9" || body[KeyDispatchID] != "d1" || body["k"] != "v" {
			t.Errorf("custom data %v", body)
		}
	})
	t.Run("extra is encoded as JSON", func(t *testing.T) {
		p, _, _ := build(t, channels.Message{Object: object(t, `{"alert":"<b>","extra":{"k":"k","n":null,"l":[1,"x"],"u":"é\n\""}}`)})
		want := `{"aps":{"alert":"\u003cb\u003e"},"k":"k","l":[1,"x"],"n":null,"u":"é\n\""}`
		if string(p.Body) != want {
			t.Errorf("body %s\nwant %s", p.Body, want)
		}
	})
	t.Run("badge as text, zero kept", func(t *testing.T) {
		_, _, a := build(t, message("m", "t", object(t, `{"alert":"x","badge":"4"}`)))
		if a["badge"] != 4.0 {
			t.Errorf("badge %v", a["badge"])
		}
		_, _, a = build(t, message("m", "t", object(t, `{"badge":0}`)))
		if v, ok := a["badge"]; !ok || v != 0.0 {
			t.Errorf("badge 0 dropped: %v", a)
		}
	})
	t.Run("content-available with an alert stays an alert push", func(t *testing.T) {
		p, _, a := build(t, message("m", "t", object(t, `{"alert":"x","content-available":"true"}`)))
		if p.PushType != apns2.PushTypeAlert || p.Priority != 0 || a["content-available"] != 1.0 {
			t.Errorf("push type %s priority %d aps %v", p.PushType, p.Priority, a)
		}
	})
	t.Run("background is never priority 10", func(t *testing.T) {
		p, _, _ := build(t, message("m", "t", object(t, `{"content-available":true,"apns_priority":10}`)))
		if p.PushType != apns2.PushTypeBackground || p.Priority != 5 {
			t.Errorf("push type %s priority %d", p.PushType, p.Priority)
		}
		p, _, _ = build(t, message("m", "t", object(t, `{"content-available":true,"apns_priority":1}`)))
		if p.Priority != 1 {
			t.Errorf("priority 1 not kept: %d", p.Priority)
		}
	})
	t.Run("subtitle turns a string alert into a dictionary", func(t *testing.T) {
		_, _, a := build(t, message("m", "t", object(t, `{"alert":"body","subtitle":"sub"}`)))
		al, _ := a["alert"].(map[string]any)
		if al["body"] != "body" || al["subtitle"] != "sub" {
			t.Errorf("alert %v", a["alert"])
		}
	})
	t.Run("expiry", func(t *testing.T) {
		for in, want := range map[string]time.Time{
			`"2026-12-24T18:00:00+01:00"`: time.Date(2026, 12, 24, 17, 0, 0, 0, time.UTC),
			`"2026-12-24T18:00:00"`:       time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC),
			`3600`:                        goldenNow.Add(time.Hour),
			`"60"`:                        goldenNow.Add(time.Minute),
		} {
			p, _, _ := build(t, message("m", "t", object(t, `{"alert":"x","expiry":`+in+`}`)))
			if !p.Expiration.Equal(want) {
				t.Errorf("expiry %s: %s, want %s", in, p.Expiration, want)
			}
		}
	})
	t.Run("no ids, no custom keys", func(t *testing.T) {
		p, err := BuildPayload(channels.Message{Token: "t", Object: object(t, `{"alert":"x"}`)}, goldenNow)
		if err != nil || string(p.Body) != `{"aps":{"alert":"x"}}` {
			t.Errorf("%s %v", p.Body, err)
		}
	})
}

func TestBuildPayloadRejects(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"extra ab":           `{"alert":"x","extra":{"ab":1}}`,
		"extra aps":          `{"alert":"x","extra":{"aps":{}}}`,
		"extra not object":   `{"alert":"x","extra":"k=v"}`,
		"nothing to show":    `{"category":"c"}`,
		"alert number":       `{"alert":5}`,
		"alert title number": `{"alert":{"title":5}}`,
		"loc_args mixed":     `{"alert":{"body":"x","loc_args":["a",1]}}`,
		"badge fraction":     `{"badge":1.5}`,
		"badge text":         `{"badge":"many"}`,
		"sound number":       `{"alert":"x","sound":3}`,
		"interruption level": `{"alert":"x","interruption_level":"urgent"}`,
		"relevance score":    `{"alert":"x","relevance_score":2}`,
		"push type":          `{"alert":"x","push_type":"loud"}`,
		"apns priority":      `{"alert":"x","apns_priority":7}`,
		"asset type":         `{"alert":"x","asset_url":"https://x/p.bmp","asset_file_type":"bmp"}`,
		"asset no type":      `{"alert":"x","asset_url":"https://x/p.jpg"}`,
		"expiry text":        `{"alert":"x","expiry":"tomorrow"}`,
		"expiry negative":    `{"alert":"x","expiry":-5}`,
		"content-available":  `{"content-available":"yes"}`,
		"collapse_id":        `{"alert":"x","collapse_id":"` + strings.Repeat("c", 65) + `"}`,
		// A blank alert is refused unless the push is a background one.
		"alert empty":                 `{"alert":""}`,
		"alert blank":                 `{"alert":" \n\t"}`,
		"alert empty with badge":      `{"alert":"","badge":1}`,
		"alert empty with sound":      `{"alert":"","sound":"default"}`,
		"alert empty, not background": `{"alert":"","content-available":false,"badge":1}`,
		"alert object empty":          `{"alert":{"title":"","body":""}}`,
		"alert object empty, sound":   `{"alert":{"title":"","body":""},"sound":"default","badge":2}`,
		"alert object no text":        `{"alert":{"title":" ","body":"","launch_image":"a.png","action_loc_key":"OPEN"},"badge":1}`,
		"alert object {}":             `{"alert":{},"badge":1}`,
		"alert empty and subtitle":    `{"alert":"","subtitle":" "}`,
		// A negative badge.
		"badge negative":      `{"alert":"x","badge":-1}`,
		"badge negative text": `{"badge":"-3"}`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := BuildPayload(message("m", "t", object(t, in)), goldenNow)
			if !errors.Is(err, ErrInvalidPayload) {
				t.Errorf("%s: err %v, want ErrInvalidPayload", in, err)
			}
		})
	}
}

func TestBuildPayloadBlankAlert(t *testing.T) {
	t.Parallel()
	// A background push may carry a blank alert: it is left out, and the push
	// stays a background push.
	for _, in := range []string{
		`{"alert":"","content-available":true}`,
		`{"alert":"  ","content-available":"true","extra":{"sync":"inbox"}}`,
		`{"alert":{"title":"","body":""},"content-available":true}`,
	} {
		p, err := BuildPayload(message("m", "t", object(t, in)), goldenNow)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		_, a := decodeBody(t, p)
		if _, ok := a["alert"]; ok || p.PushType != apns2.PushTypeBackground || p.Priority != 5 || a["content-available"] != 1.0 {
			t.Errorf("%s: push type %s priority %d aps %v; want a background push without alert", in, p.PushType, p.Priority, a)
		}
	}
	// A blank alert with push_type background is accepted too; with a badge
	// it is then a badge update.
	p, err := BuildPayload(message("m", "t", object(t, `{"alert":"","push_type":"background","badge":0}`)), goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, a := decodeBody(t, p); a["alert"] != nil || a["badge"] != 0.0 || p.PushType != apns2.PushTypeBackground {
		t.Errorf("push_type background: push type %s aps %v", p.PushType, a)
	}
	// An alert with any text is not blank: a subtitle, or a localized title
	// or body, alone is enough.
	for _, in := range []string{
		`{"alert":"","subtitle":"sub"}`,
		`{"alert":{"title":"","body":"","subtitle":"sub"}}`,
		`{"alert":{"title":"","body":""},"subtitle":"sub"}`,
		`{"alert":{"loc_key":"GAME_INVITE","loc_args":["Jenna"]}}`,
		`{"alert":{"title_loc_key":"T"}}`,
		`{"alert":{"title":"t","body":""}}`,
		`{"alert":{"title":"","body":"b"}}`,
		`{"badge":3}`,
	} {
		p, err := BuildPayload(message("m", "t", object(t, in)), goldenNow)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if _, a := decodeBody(t, p); a["alert"] == nil && in != `{"badge":3}` {
			t.Errorf("%s: the alert was left out: %s", in, p.Body)
		}
	}
	// The refusal names the problem.
	_, err = BuildPayload(message("m", "t", object(t, `{"alert":"","badge":1}`)), goldenNow)
	if !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), "alert is empty") {
		t.Errorf("blank alert: %v", err)
	}
	if _, err := BuildPayload(message("m", "t", object(t, `{"alert":"x","badge":-2}`)), goldenNow); !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative badge: %v", err)
	}
}

func TestBuildPayloadSizeLimit(t *testing.T) {
	t.Parallel()
	base, err := BuildPayload(message("m1", "t", map[string]any{"alert": "x"}), goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	fill := MaxPayloadSize - len(base.Body) + 1 // the base's alert is one byte
	p, err := BuildPayload(message("m1", "t", map[string]any{"alert": strings.Repeat("x", fill)}), goldenNow)
	if err != nil || len(p.Body) != MaxPayloadSize {
		t.Fatalf("a body of exactly %d bytes: %d bytes, %v", MaxPayloadSize, len(p.Body), err)
	}
	_, err = BuildPayload(message("m1", "t", map[string]any{"alert": strings.Repeat("x", fill+1)}), goldenNow)
	if !errors.Is(err, ErrInvalidPayload) || !strings.Contains(err.Error(), "4097 bytes") || !strings.Contains(err.Error(), "4096") {
		t.Errorf("one byte over: %v", err)
	}
	// The limit counts encoded bytes: é is 2 bytes, a quote is escaped.
	_, err = BuildPayload(message("m1", "t", map[string]any{"alert": strings.Repeat("é", fill/2+1)}), goldenNow)
	if !errors.Is(err, ErrInvalidPayload) {
		t.Errorf("multi-byte text over the limit: %v", err)
	}
}

func TestTopicFor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pt   apns2.EPushType
		in   string
		want string
	}{
		{apns2.PushTypeAlert, "com.x", "com.x"},
		{apns2.PushTypeBackground, "com.x", "com.x"},
		{apns2.PushTypeVOIP, "com.x", "com.x.voip"},
		{apns2.PushTypeVOIP, "com.x.voip", "com.x.voip"},
		{apns2.PushTypeLiveActivity, "com.x", "com.x.push-type.liveactivity"},
		{apns2.PushTypeComplication, "com.x", "com.x.complication"},
	} {
		if got := TopicFor(c.in, c.pt); got != c.want {
			t.Errorf("TopicFor(%q, %s) = %q, want %q", c.in, c.pt, got, c.want)
		}
	}
}

func FuzzBuildPayload(f *testing.F) {
	for _, s := range []string{
		`{"alert":"x"}`, `{"alert":{"title":"t","body":"b","loc_args":["a"]},"badge":"2"}`,
		`{"content-available":true,"extra":{"a":[1,2]}}`, `{"alert":"x","expiry":"3600","apns_priority":5}`,
		`{"badge":1e300}`, `{"alert":"x","asset_url":"u","asset_file_type":"png","collapse_id":"c"}`,
	} {
		f.Add(s, "m1", "collapse")
	}
	f.Fuzz(func(t *testing.T, in, id, collapse string) {
		var obj map[string]any
		if json.Unmarshal([]byte(in), &obj) != nil {
			return
		}
		m := channels.Message{ID: id, DispatchID: "d", Token: "t", CollapseID: collapse, Object: obj}
		p, err := BuildPayload(m, goldenNow)
		if err != nil {
			if !errors.Is(err, ErrInvalidPayload) {
				t.Fatalf("error not ErrInvalidPayload: %v", err)
			}
			return
		}
		if len(p.Body) > MaxPayloadSize || len(p.CollapseID) > MaxCollapseIDSize || !ValidPushType(string(p.PushType)) {
			t.Fatalf("out of APNs' limits: %d bytes, collapse %d bytes, push type %q", len(p.Body), len(p.CollapseID), p.PushType)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(p.Body, &body); err != nil || len(body["aps"]) == 0 || body["aps"][0] != '{' {
			t.Fatalf("body %s: %v", p.Body, err)
		}
		var gotID string
		if id != "" && utf8.ValidString(id) && (json.Unmarshal(body[KeyMessageID], &gotID) != nil || gotID != id) {
			t.Fatalf("message id %s, want %q", body[KeyMessageID], id)
		}
		if p.PushType == apns2.PushTypeBackground && p.Priority == 10 {
			t.Fatal("a background push at priority 10")
		}
	})
}
