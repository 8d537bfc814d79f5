package fcm

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fake"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

// Load shape shared by both benchmarks: benchWorkers batches of benchBatch
// messages in flight at once (like that many delivery workers), each batch
// running 50 requests: 200 in flight, the sender's default MaxInFlight.
const (
	benchBatch   = 500
	benchWorkers = 4
)

// runBatches splits b.N messages into batches and runs them on benchWorkers
// goroutines, then reports msgs/s.
func runBatches(b *testing.B, send func(first, n int) int) {
	b.Helper()
	var next, failed atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range benchWorkers {
		wg.Go(func() {
			for {
				first := int(next.Add(benchBatch)) - benchBatch
				if first >= b.N {
					return
				}
				failed.Add(int64(send(first, min(benchBatch, b.N-first))))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d messages not delivered", f, b.N)
	}
}

func benchEnv(b *testing.B) *env {
	return newEnv(b, fcmfake.Config{Recorder: fake.NewRecorder(1000)})
}

// BenchmarkSender: Herald's layer (payload building and size check, budget,
// classification) over the SDK against the fake.
func BenchmarkSender(b *testing.B) {
	e := benchEnv(b)
	s := e.sender(b, e.creds(), Options{})
	obj := map[string]any{"title": "Hello", "alert": "A message for you", "extra": map[string]any{"campaign": "c-1"}}
	runBatches(b, func(first, n int) int {
		msgs := make([]channels.Message, n)
		for i := range msgs {
			msgs[i] = channels.Message{ID: fmt.Sprintf("m-%d", first+i), DispatchID: "d-1", AppID: testApp,
				Token: fmt.Sprintf("token-%d", first+i), Object: obj}
		}
		bad := 0
		for _, r := range s.Send(context.Background(), msgs) {
			if r.Outcome != channels.Delivered {
				bad++
			}
		}
		return bad
	})
}

// BenchmarkBareSendEach: the firebase SDK alone (same auth, transport and
// in-flight shape), building the equivalent message by hand.
func BenchmarkBareSendEach(b *testing.B) {
	e := benchEnv(b)
	tr := newTransport(e.srv.Pool())
	conf, err := google.JWTConfigFromJSON(e.key, ScopeMessaging)
	if err != nil {
		b.Fatal(err)
	}
	ts := conf.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Transport: tr}))
	app, err := firebase.NewApp(context.Background(), &firebase.Config{ProjectID: testProject},
		option.WithHTTPClient(&http.Client{Transport: &oauth2.Transport{Source: ts, Base: tr}}),
		option.WithEndpoint(e.srv.Endpoint))
	if err != nil {
		b.Fatal(err)
	}
	client, err := app.Messaging(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	runBatches(b, func(first, n int) int {
		msgs := make([]*messaging.Message, n)
		for i := range msgs {
			msgs[i] = &messaging.Message{Token: fmt.Sprintf("token-%d", first+i),
				Data:    map[string]string{"campaign": "c-1", DataMessageID: fmt.Sprintf("m-%d", first+i), DataDispatchID: "d-1"},
				Android: &messaging.AndroidConfig{Notification: &messaging.AndroidNotification{Title: "Hello", Body: "A message for you"}}}
		}
		br, err := client.SendEach(context.Background(), msgs)
		if err != nil {
			return n
		}
		return br.FailureCount
	})
}

// BenchmarkBuildPayload: the payload builder alone, size check included.
func BenchmarkBuildPayload(b *testing.B) {
	msg := channels.Message{ID: "m-1", DispatchID: "d-1", Token: "token", CollapseID: "c",
		Object: map[string]any{"title": "Hello", "alert": "A message for you", "extra": map[string]any{"campaign": "c-1", "n": 3.0},
			"priority": 1.0, "android_priority": "high", "time_to_live": 3600.0, "image": "https://cdn.example.com/i.png"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildPayload(msg); err != nil {
			b.Fatal(err)
		}
	}
}
