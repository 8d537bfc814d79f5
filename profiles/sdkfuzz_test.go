package profiles

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func FuzzDecodeSDK(f *testing.F) {
	for _, s := range []string{
		`{"device":{"device_id":"d1","os":"iOS 17","time_zone":"Europe/Berlin","locale":"de_DE","app_version":"1.0"},"user_id":"u1","items":[
			{"id":"a","type":"session_start","time":"2025-05-20T03:04:05Z","data":{"session_id":"s"}},
			{"id":"b","type":"custom_event","time":"2025-05-20T03:04:06.5+01:00","data":{"name":"e","properties":{"a":[1,{"b":null}]}}},
			{"id":"c","type":"purchase","time":"2025-05-20","data":{"product_id":"p","currency":"eur","price":-0,"quantity":100}},
			{"id":"d","type":"attributes","time":"2025-05-20","data":{"first_name":"Ann","n":{"inc":1},"email":"bad","tags":{"add":["x"]}}},
			{"id":"e","type":"push_token","time":"2025-05-20","data":{"token":{"endpoint":"https://p.example/1","keys":{"p256dh":"` + seedP256dh + `","auth":"` + seedAuth + `"}},"push_enabled":false}},
			{"id":"f","type":"in_app_button_click","time":"2025-05-20","data":{"message_id":"m","button_id":"0"}},
			{"id":"g","type":"push_open","time":"2025-05-20","data":{"herald_message_id":"m","herald_dispatch_id":"d"}},
			{"id":"h","type":"session_end","time":"2099-01-01","data":{"duration_s":12.5}}]}`,
		`{"device":{"device_id":"d"},"user_id":null,"items":[{"id":"a","type":"card_click","time":"2025-05-31","data":{"card_id":"c"}},{"id":"a","type":"x"},7,{"id":"b:1","type":"attributes","time":"2025-05-31","data":{"push_tokens":[]}}]}`,
		`{"device":{"device_id":"d"},"items":[{"id":"a","type":"attributes","time":"1990-01-01","data":{}}],"extra":1}`,
		`{"device":{"device_id":""},"user_id":"","items":{}}`,
		`{"device":7}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := DecodeSDK(bytes.NewReader(body), trackNow, DefaultLimits())
		if err != nil {
			checkSDKError(t, b, err)
			return
		}
		checkSDKBatch(t, body, b)
	})
}

// checkSDKError: a refused body is a *RequestError or field errors, and no batch.
func checkSDKError(t *testing.T, b *SDKBatch, err error) {
	t.Helper()
	if b != nil {
		t.Fatalf("DecodeSDK returned a batch and %v", err)
	}
	var re *RequestError
	if errors.As(err, &re) {
		return
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("DecodeSDK = %v (%T), want a *RequestError or joined *FieldError", err, err)
	}
	for _, e := range j.Unwrap() {
		var fe *FieldError
		if !errors.As(e, &fe) || fe.Field == "" || fe.Reason == "" {
			t.Fatalf("DecodeSDK error %v (%T) is not a field error", e, e)
		}
	}
}

// checkSDKBatch checks what DecodeSDK promises about a body it accepted.
func checkSDKBatch(t *testing.T, body []byte, b *SDKBatch) {
	t.Helper()
	var top struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		t.Fatalf("DecodeSDK accepted a body json rejects: %v", err)
	}
	n := len(top.Items)
	if n > SDKMaxItems || b.Device.DeviceID == "" || strings.TrimSpace(b.Device.DeviceID) == "" {
		t.Fatalf("accepted %d items, device %+v", n, b.Device)
	}
	inItems, inErrors := map[int]string{}, map[int]bool{}
	ids := map[string]bool{}
	last := -1
	for _, it := range b.Items {
		if it.Index <= last || it.Index >= n {
			t.Fatalf("item index %d after %d of %d", it.Index, last, n)
		}
		last = it.Index
		inItems[it.Index] = it.Type
		if !validItemID(it.ID) || ids[it.ID] {
			t.Fatalf("item id %q invalid or repeated", it.ID)
		}
		ids[it.ID] = true
		checkTime(t, "item", it.Time)
		if it.Time.Before(trackNow.Add(-SDKReplayWindow)) {
			t.Fatalf("item time %v is before the replay window", it.Time)
		}
		checkSDKItem(t, it)
	}
	for _, e := range b.Errors {
		if e.Index < 0 || e.Index >= n || e.Type == "" || e.InputArray != "items" || inErrors[e.Index] {
			t.Fatalf("error %+v (of %d items)", e, n)
		}
		inErrors[e.Index] = true
		if typ, ok := inItems[e.Index]; ok && typ != SDKAttributes {
			t.Fatalf("item %d (%s) both kept and refused", e.Index, typ)
		}
	}
	for i := range n {
		if _, ok := inItems[i]; !ok && !inErrors[i] {
			t.Fatalf("item %d neither kept nor refused", i)
		}
	}
}

func checkSDKItem(t *testing.T, it SDKItem) {
	t.Helper()
	set := 0
	for _, p := range []bool{it.Attributes != nil, it.Event != nil, it.Purchase != nil, it.Engagement != nil, it.Token != ""} {
		if p {
			set++
		}
	}
	want := 1
	switch it.Type {
	case SDKSessionStart, SDKSessionEnd:
		want = 0
	case SDKAttributes:
		if it.Attributes == nil || len(it.Attributes.Standard)+len(it.Attributes.Custom) == 0 || len(it.Attributes.PushTokens) > 0 ||
			it.Attributes.FirstSession != nil || it.Attributes.LastSession != nil {
			t.Fatalf("attributes item %+v", it.Attributes)
		}
	case SDKCustomEvent:
		if it.Event == nil || it.Event.Name == "" {
			t.Fatalf("custom_event item %+v", it.Event)
		}
		checkProperties(t, it.Event.Properties)
	case SDKPurchase:
		if it.Purchase == nil || it.Purchase.Quantity < 1 || it.Purchase.Quantity > 100 || len(it.Purchase.Currency) != 3 {
			t.Fatalf("purchase item %+v", it.Purchase)
		}
		checkProperties(t, it.Purchase.Properties)
	case SDKPushToken:
		if it.Token == "" || len(it.Token) > 4096 {
			t.Fatalf("push_token item %q", it.Token)
		}
	default:
		e := it.Engagement
		if _, ok := engagementFields[it.Type]; !ok || e == nil || e.Target == "" ||
			(it.Type == SDKInAppButtonClick) != (e.ButtonID != "") || (it.Type == SDKPushOpen && e.DispatchID == "") {
			t.Fatalf("%s item %+v", it.Type, e)
		}
	}
	if set != want {
		t.Fatalf("%s item with %d payloads: %+v", it.Type, set, it)
	}
}
