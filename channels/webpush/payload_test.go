package webpush

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/herald-oss/herald/channels"
)

var update = flag.Bool("update", false, "rewrite golden files")

// objectOf decodes a web_push object as the templates hand it over (JSON values).
func objectOf(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildPayloadGolden(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, object string }{
		{"full", `{
			"title": "Flash sale", "alert": "50% off <today> & tomorrow",
			"image_url": "https://cdn.example.com/icon.png", "large_image_url": "https://cdn.example.com/big.png",
			"custom_uri": "https://shop.example.com/sale?utm=push", "require_interaction": true,
			"time_to_live": 3600, "send_to_most_recent_device_only": true,
			"extra": {"campaign": "spring", "n": 3, "nested": {"a": [1, "b"]}},
			"buttons": [{"text": "Shop", "action": "URI", "uri": "https://shop.example.com"}, {"text": "Later", "action": "CLOSE"}, {"text": "Open"}]
		}`},
		{"minimal", `{"title": "Hi", "alert": "there"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := channels.Message{ID: "msg-1", DispatchID: "disp-1", CollapseID: "camp-1:user-9", Object: objectOf(t, c.object)}
			if c.name == "minimal" {
				msg.CollapseID = ""
			}
			push, err := BuildPayload(msg)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			_ = json.Indent(&out, push.Payload, "", "  ")
			headers, _ := json.Marshal(map[string]any{"ttl": push.TTL, "urgency": push.Urgency, "topic": push.Topic})
			out.WriteString("\n")
			out.Write(headers)
			out.WriteString("\n")
			golden := filepath.Join("testdata", "payload_"+c.name+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("payload differs from %s:\n%s", golden, out.Bytes())
			}
		})
	}
}

func TestBuildPayloadDefaultsAndOptions(t *testing.T) {
	t.Parallel()
	build := func(object string) Push {
		t.Helper()
		p, err := BuildPayload(channels.Message{ID: "m", Object: objectOf(t, object)})
		if err != nil {
			t.Fatalf("%s: %v", object, err)
		}
		return p
	}
	if p := build(`{"title":"t","alert":"a"}`); p.TTL != 2419200 || p.Urgency != "normal" || p.Topic != "" {
		t.Errorf("defaults: %+v", p)
	}
	if p := build(`{"title":"t","alert":"a","time_to_live":0}`); p.TTL != 0 {
		t.Errorf("time_to_live 0: TTL %d", p.TTL)
	}
	if p := build(`{"title":"t","alert":"a","time_to_live":"600"}`); p.TTL != 600 {
		t.Errorf("time_to_live \"600\": TTL %d", p.TTL)
	}
	if p := build(`{"title":"t","alert":"a","time_to_live":99999999}`); p.TTL != 2419200 {
		t.Errorf("time_to_live over 4 weeks: TTL %d, want 2419200", p.TTL)
	}
	if p := build(`{"title":"t","alert":"a","urgency":"high"}`); p.Urgency != "high" {
		t.Errorf("urgency: %q", p.Urgency)
	}
	if p := build(`{"title":"t","alert":"a","require_interaction":"true"}`); !bytes.Contains(p.Payload, []byte(`"require_interaction":true`)) {
		t.Errorf("require_interaction \"true\": %s", p.Payload)
	}
	if p := build(`{"title":"t","alert":"a","extra":{}}`); bytes.Contains(p.Payload, []byte(`"extra"`)) {
		t.Errorf("an empty extra is sent: %s", p.Payload)
	}
}

func TestBuildPayloadRefuses(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		`{"alert":"a"}`:                                                      "web_push.title is required",
		`{"title":"t"}`:                                                      "web_push.alert is required",
		`{"title":" ","alert":"a"}`:                                          "web_push.title is empty",
		`{"title":1,"alert":"a"}`:                                            "web_push.title must be a string, not a number",
		`{"title":"t","alert":"a","image_url":true}`:                         "web_push.image_url must be a string",
		`{"title":"t","alert":"a","extra":[1]}`:                              "web_push.extra must be an object, not an array",
		`{"title":"t","alert":"a","time_to_live":-1}`:                        "time_to_live: must be whole seconds",
		`{"title":"t","alert":"a","time_to_live":1.5}`:                       "time_to_live: must be whole seconds",
		`{"title":"t","alert":"a","time_to_live":"x"}`:                       "time_to_live: must be a number",
		`{"title":"t","alert":"a","urgency":"asap"}`:                         "web_push.urgency must be",
		`{"title":"t","alert":"a","require_interaction":"maybe"}`:            "require_interaction: must be a boolean",
		`{"title":"t","alert":"a","buttons":{}}`:                             "web_push.buttons must be an array",
		`{"title":"t","alert":"a","buttons":[{"action":"URI","uri":"x"}]}`:   "buttons[0].text is required",
		`{"title":"t","alert":"a","buttons":[{"text":"x","action":"DEEP"}]}`: "buttons[0].action must be",
		`{"title":"t","alert":"a","buttons":[{"text":"x","action":"URI"}]}`:  "action URI needs a uri",
	}
	for object, want := range cases {
		_, err := BuildPayload(channels.Message{Object: objectOf(t, object)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", object, err, want)
		}
	}
	// every problem at once
	_, err := BuildPayload(channels.Message{Object: objectOf(t, `{"urgency":"x"}`)})
	if err == nil || !strings.Contains(err.Error(), "title is required") || !strings.Contains(err.Error(), "alert is required") || !strings.Contains(err.Error(), "urgency") {
		t.Errorf("joined errors: %v", err)
	}
}

func TestBuildPayloadSizeLimit(t *testing.T) {
	t.Parallel()
	msg := channels.Message{ID: "m", DispatchID: "d", Object: map[string]any{"title": "t", "alert": ""}}
	msg.Object["alert"] = "x"
	p, err := BuildPayload(msg)
	if err != nil {
		t.Fatal(err)
	}
	room := MaxPayloadSize - len(p.Payload) // how much longer the alert may be
	msg.Object["alert"] = strings.Repeat("x", 1+room)
	p, err = BuildPayload(msg)
	if err != nil || len(p.Payload) != MaxPayloadSize {
		t.Fatalf("payload of exactly %d bytes: %d bytes, %v", MaxPayloadSize, len(p.Payload), err)
	}
	msg.Object["alert"] = strings.Repeat("x", 2+room)
	_, err = BuildPayload(msg)
	if err == nil || !strings.Contains(err.Error(), "3994 bytes") || !strings.Contains(err.Error(), "limit of 3993 bytes") {
		t.Fatalf("payload one byte over: %v", err)
	}
}

func TestTopic(t *testing.T) {
	t.Parallel()
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`)
	ids := []string{"a", "camp-1:user-9:web", strings.Repeat("long ", 100), "ünïcode ✓"}
	seen := map[string]bool{}
	for _, id := range ids {
		topic := Topic(id)
		if !valid.MatchString(topic) {
			t.Errorf("Topic(%q) = %q: not 32 base64url characters", id, topic)
		}
		if Topic(id) != topic {
			t.Errorf("Topic(%q) is not deterministic", id)
		}
		if seen[topic] {
			t.Errorf("Topic(%q) collides", id)
		}
		seen[topic] = true
	}
	if Topic("") != "" {
		t.Error("an empty collapse id gives a Topic")
	}
}

func FuzzBuildPayload(f *testing.F) {
	f.Add(`{"title":"t","alert":"a","buttons":[{"text":"x","action":"URI","uri":"u"}],"extra":{"k":[1,{"z":null}]},"time_to_live":"5"}`)
	f.Add(`{"title":"t","alert":"a","time_to_live":1e300}`)
	f.Add(`{"title":null,"alert":{}}`)
	f.Fuzz(func(t *testing.T, object string) {
		var m map[string]any
		if json.Unmarshal([]byte(object), &m) != nil {
			return
		}
		p, err := BuildPayload(channels.Message{ID: "m", DispatchID: "d", CollapseID: object, Object: m})
		if err != nil {
			return
		}
		if len(p.Payload) > MaxPayloadSize || !json.Valid(p.Payload) || p.TTL < 0 || p.TTL > 2419200 || len(p.Topic) != 32 {
			t.Fatalf("bad push %+v from %s", p, object)
		}
	})
}
