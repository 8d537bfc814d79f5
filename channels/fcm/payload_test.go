package fcm

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"firebase.google.com/go/v4/messaging"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// decodeObject decodes a JSON android_push object as the renderer hands it over.
func decodeObject(t testing.TB, s string) map[string]any {
	t.Helper()
	var o map[string]any
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestBuildPayloadGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, collapseID, object string
	}{
		{"minimal", "", `{"title":"Hi","alert":"Hello"}`},
		{"full", "", `{"title":"Sale","alert":"50% off today","extra":{"coupon":"X1","count":3,"ratio":2.5,"vip":true,"tags":["a","b"],"nested":{"k":"v"},"gone":null},
			"notification_channel_id":"promo","priority":1,"android_priority":"high","collapse_key":"sale","sound":"chime",
			"custom_uri":"myapp://sale","summary_text":"Deals","time_to_live":3600,"notification_id":7,
			"push_icon_image_url":"https://cdn.example.com/i.png","accent_color":4278255360}`},
		{"collapse_id_and_key", "ledger-collapse-1", `{"title":"Hi","alert":"Hello","collapse_key":"braze-key","notification_id":9}`},
		{"send_to_sync", "", `{"send_to_sync":true,"extra":{"sync":"1"},"android_priority":"normal","time_to_live":0.5}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m, err := BuildPayload(channels.Message{ID: "m-1", DispatchID: "d-1", Token: "device-token",
				CollapseID: c.collapseID, Object: decodeObject(t, c.object)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(m, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("payload differs from %s:\n%s", path, got)
			}
		})
	}
}

func TestBuildPayloadMapping(t *testing.T) {
	t.Parallel()
	build := func(collapseID, object string) *messaging.Message {
		t.Helper()
		m, err := BuildPayload(channels.Message{ID: "m-1", DispatchID: "d-1", Token: "tok",
			CollapseID: collapseID, Object: decodeObject(t, object)})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := build("", `{"title":"T","alert":"A","extra":{"n":3,"f":0.25,"b":false,"o":{"x":[1]},"herald_message_id":"forged"},
		"priority":-2,"time_to_live":"90","accent_color":"#80ff0000","collapse_key":"ck","image":"https://x.test/big.png","push_icon_image_url":"https://x.test/icon.png"}`)
	for k, want := range map[string]string{"n": "3", "f": "0.25", "b": "false", "o": `{"x":[1]}`, DataMessageID: "m-1", DataDispatchID: "d-1"} {
		if m.Data[k] != want {
			t.Errorf("data[%s] = %q, want %q", k, m.Data[k], want)
		}
	}
	n := m.Android.Notification
	if n.Title != "T" || n.Body != "A" || n.Priority != messaging.PriorityMin || n.Color != "#FF0000" ||
		n.ImageURL != "https://x.test/big.png" || n.Tag != "ck" || m.Android.CollapseKey != "ck" {
		t.Errorf("notification %+v, collapse key %q", n, m.Android.CollapseKey)
	}
	if m.Android.TTL == nil || *m.Android.TTL != 90*time.Second {
		t.Errorf("ttl %v, want 90s", m.Android.TTL)
	}
	// Message.CollapseID is the tag (over collapse_key and notification_id)
	// and in the data; collapse_key alone is the collapse key.
	m = build("c-1", `{"title":"T","alert":"A","collapse_key":"ck","notification_id":5}`)
	if m.Android.CollapseKey != "ck" || m.Android.Notification.Tag != "c-1" || m.Data[DataCollapseID] != "c-1" || m.Data["notification_id"] != "5" {
		t.Errorf("collapse %q tag %q data %v", m.Android.CollapseKey, m.Android.Notification.Tag, m.Data)
	}
	// Without a collapse id, notification_id is the tag.
	if m = build("", `{"title":"T","alert":"A","notification_id":5}`); m.Android.Notification.Tag != "5" || m.Android.CollapseKey != "" {
		t.Errorf("tag %q collapse %q", m.Android.Notification.Tag, m.Android.CollapseKey)
	}
	// A negative Android colour int (0xFF00FF00 as a Java int).
	if m = build("", `{"title":"T","alert":"A","accent_color":-16711936}`); m.Android.Notification.Color != "#00FF00" {
		t.Errorf("color %q", m.Android.Notification.Color)
	}
	// Data-only: no notification at all.
	if m = build("", `{"send_to_sync":true}`); m.Android.Notification != nil || m.Notification != nil {
		t.Errorf("send_to_sync message has a notification")
	}
}

func TestBuildPayloadErrors(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, object, wantInErr string }{
		{"no title", `{"alert":"A"}`, "title and alert"},
		{"no alert", `{"title":"T","alert":""}`, "title and alert"},
		{"extra not an object", `{"title":"T","alert":"A","extra":"x"}`, "extra"},
		{"reserved extra key", `{"title":"T","alert":"A","extra":{"google.c.a":"1"}}`, "reserved"},
		{"from is reserved", `{"title":"T","alert":"A","extra":{"from":"me"}}`, "reserved"},
		{"bad android_priority", `{"title":"T","alert":"A","android_priority":"urgent"}`, "android_priority"},
		{"priority out of range", `{"title":"T","alert":"A","priority":3}`, "priority"},
		{"priority not an integer", `{"title":"T","alert":"A","priority":1.5}`, "priority"},
		{"priority not a number", `{"title":"T","alert":"A","priority":"high"}`, "priority"},
		{"negative ttl", `{"title":"T","alert":"A","time_to_live":-1}`, "time_to_live"},
		{"ttl over 4 weeks", `{"title":"T","alert":"A","time_to_live":2419201}`, "time_to_live"},
		{"relative image", `{"title":"T","alert":"A","image":"/img.png"}`, "image"},
		{"not a URL", `{"title":"T","alert":"A","push_icon_image_url":"::"}`, "push_icon_image_url"},
		{"bad colour", `{"title":"T","alert":"A","accent_color":"red"}`, "accent_color"},
		{"fractional colour", `{"title":"T","alert":"A","accent_color":1.5}`, "accent_color"},
		{"sync with a title", `{"send_to_sync":true,"title":"T"}`, "send_to_sync"},
		{"title an object", `{"title":{"x":1},"alert":"A"}`, "title"},
	}
	for _, c := range cases {
		_, err := BuildPayload(channels.Message{Token: "tok", Object: decodeObject(t, c.object)})
		if err == nil || !strings.Contains(err.Error(), c.wantInErr) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.wantInErr)
		}
	}
	if _, err := BuildPayload(channels.Message{Object: decodeObject(t, `{"title":"T","alert":"A"}`)}); err == nil {
		t.Error("a message without a token was built")
	}
}

// Herald's collapse id goes to the notification tag and the data only: FCM
// keeps at most 4 collapse keys per device, so a key per message made an
// offline device lose messages. android.collapse_key comes only from the
// android_push object.
func TestBuildPayloadCollapse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, collapseID, object string
		key, tag, data           string // android.collapse_key, notification tag, data herald_collapse_id
	}{
		{"collapse id and key", "c-1", `{"title":"T","alert":"A","collapse_key":"ck","notification_id":5}`, "ck", "c-1", "c-1"},
		{"collapse id only", "c-2", `{"title":"T","alert":"A"}`, "", "c-2", "c-2"},
		{"collapse key only", "", `{"title":"T","alert":"A","collapse_key":"ck"}`, "ck", "ck", ""},
		{"notification id only", "", `{"title":"T","alert":"A","notification_id":5}`, "", "5", ""},
		{"forged data key", "", `{"title":"T","alert":"A","extra":{"herald_collapse_id":"forged"}}`, "", "", ""},
		{"forged data key, collapse id", "c-3", `{"title":"T","alert":"A","extra":{"herald_collapse_id":"forged"}}`, "", "c-3", "c-3"},
		{"data-only", "c-4", `{"send_to_sync":true}`, "", "", "c-4"},
	}
	for _, c := range cases {
		m, err := BuildPayload(channels.Message{ID: "m", DispatchID: "d", Token: "tok", CollapseID: c.collapseID,
			Object: decodeObject(t, c.object)})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		tag := ""
		if n := m.Android.Notification; n != nil {
			tag = n.Tag
		}
		data, hasData := m.Data["herald_collapse_id"]
		if m.Android.CollapseKey != c.key || tag != c.tag || data != c.data || hasData != (c.data != "") {
			t.Errorf("%s: collapse_key %q tag %q data %q (set %v); want %q, %q, %q",
				c.name, m.Android.CollapseKey, tag, data, hasData, c.key, c.tag, c.data)
		}
	}
}

// measured is the size FCM's limit applies to: the data and notification JSON.
func measured(t testing.TB, m *messaging.Message) int {
	t.Helper()
	d, err := json.Marshal(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	n := len(d)
	if m.Android.Notification != nil {
		b, err := json.Marshal(m.Android.Notification)
		if err != nil {
			t.Fatal(err)
		}
		n += len(b)
	}
	return n
}

// The limit applies to the data and notification payload, to the byte; the
// token (about 160 bytes for a real one), the collapse key and the message
// wrapper do not count.
func TestBuildPayloadSizeLimitCountsPayloadOnly(t *testing.T) {
	t.Parallel()
	token := strings.Repeat("t", 300)
	msg := func(alert string) channels.Message {
		return channels.Message{ID: "m", DispatchID: "d", Token: token, CollapseID: "c",
			Object: map[string]any{"title": "T", "alert": alert, "collapse_key": strings.Repeat("k", 200), "time_to_live": 60.0}}
	}
	m, err := BuildPayload(msg("x"))
	if err != nil {
		t.Fatal(err)
	}
	fits := "x" + strings.Repeat("y", MaxPayloadBytes-measured(t, m))
	m, err = BuildPayload(msg(fits))
	if err != nil {
		t.Fatalf("a payload of exactly %d bytes: %v", MaxPayloadBytes, err)
	}
	if n := measured(t, m); n != MaxPayloadBytes {
		t.Fatalf("built %d bytes, want %d", n, MaxPayloadBytes)
	}
	_, err = BuildPayload(msg(fits + "z"))
	if err == nil || !strings.Contains(err.Error(), "4001 bytes") || !strings.Contains(err.Error(), "4000-byte limit") {
		t.Errorf("one byte over: %v", err)
	}
	// The fake (FCM's 4,096-byte limit on the same parts) takes the fitting one.
	e := newEnv(t, fcmfake.Config{})
	good := msg(fits)
	good.AppID = testApp
	if r := e.sender(t, e.creds(), Options{}).Send(context.Background(), []channels.Message{good})[0]; r.Outcome != channels.Delivered {
		t.Errorf("the fake refused a fitting message: %s %q %v", r.Outcome, r.Reason, r.Err)
	}
}

// send_to_sync rendered by a template as "true"/"false" works as the boolean.
func TestBuildPayloadSendToSyncString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		object   string
		dataOnly bool
		wantErr  string
	}{
		{`{"send_to_sync":"true"}`, true, ""},
		{`{"send_to_sync":" TRUE "}`, true, ""},
		{`{"send_to_sync":true}`, true, ""},
		{`{"send_to_sync":"false","title":"T","alert":"A"}`, false, ""},
		{`{"send_to_sync":false,"title":"T","alert":"A"}`, false, ""},
		{`{"send_to_sync":"","title":"T","alert":"A"}`, false, ""},
		{`{"send_to_sync":"true","title":"T"}`, false, "data-only"},
		{`{"send_to_sync":"yes","title":"T","alert":"A"}`, false, "send_to_sync"},
		{`{"send_to_sync":1,"title":"T","alert":"A"}`, false, "send_to_sync"},
	} {
		m, err := BuildPayload(channels.Message{ID: "m", DispatchID: "d", Token: "tok", Object: decodeObject(t, c.object)})
		switch {
		case c.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: error %v, want one naming %q", c.object, err, c.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", c.object, err)
		case (m.Android.Notification == nil) != c.dataOnly:
			t.Errorf("%s: notification %+v, want data-only %v", c.object, m.Android.Notification, c.dataOnly)
		}
	}
}

func FuzzBuildPayload(f *testing.F) {
	f.Add(`{"title":"Hi","alert":"Hello"}`, "")
	f.Add(`{"title":"T","alert":"A","extra":{"a":1,"b":[true]},"priority":"2","time_to_live":"60","accent_color":-1}`, "c")
	f.Add(`{"send_to_sync":true,"extra":{"k":{"n":null}}}`, "")
	f.Fuzz(func(t *testing.T, object, collapseID string) {
		var o map[string]any
		if json.Unmarshal([]byte(object), &o) != nil {
			return
		}
		m, err := BuildPayload(channels.Message{ID: "m", DispatchID: "d", Token: "tok", CollapseID: collapseID, Object: o})
		if err != nil {
			return
		}
		if _, err := json.Marshal(m); err != nil {
			t.Fatalf("built a message the SDK cannot encode: %v", err)
		}
		size, err := payloadSize(m)
		if err != nil || size > MaxPayloadBytes || size != measured(t, m) {
			t.Fatalf("built a payload of %d bytes (%v)", size, err)
		}
		if bound := sizeBound(m); bound < size {
			t.Fatalf("size bound %d under the real size %d", bound, size)
		}
		if m.Data[DataMessageID] != "m" || m.Data[DataDispatchID] != "d" {
			t.Fatalf("herald ids missing: %v", m.Data)
		}
		for k := range m.Data {
			if reservedDataKey(k) {
				t.Fatalf("reserved data key %q", k)
			}
		}
		if ck, _ := text(o, "collapse_key"); m.Android.CollapseKey != ck {
			t.Fatalf("collapse key %q, want the object's %q", m.Android.CollapseKey, ck)
		}
		if m.Data[DataCollapseID] != collapseID {
			t.Fatalf("data %s %q, want %q", DataCollapseID, m.Data[DataCollapseID], collapseID)
		}
		if n := m.Android.Notification; collapseID != "" && n != nil && n.Tag != collapseID {
			t.Fatalf("tag %q, want %q", n.Tag, collapseID)
		}
	})
}
