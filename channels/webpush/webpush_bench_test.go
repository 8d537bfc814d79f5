package webpush

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	webpushgo "github.com/SherClockHolmes/webpush-go"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

const (
	benchSubscriptions = 64
	benchBatch         = 500
	benchInFlight      = DefaultMaxInFlight
)

// BenchmarkSender measures Herald's sender against the fake on loopback: one
// op is one message (payload built, encrypted, VAPID-signed, posted over
// HTTP/2, decrypted by the fake, classified). The fake shares the CPU.
func BenchmarkSender(b *testing.B) {
	e := newEnv(b, webpushfake.Config{Recorder: nil}, Options{MaxInFlight: benchInFlight})
	toks := make([]string, benchSubscriptions)
	for i := range toks {
		toks[i] = e.subscribe(b, "")
	}
	msgs := make([]channels.Message, benchBatch)
	for i := range msgs {
		msgs[i] = message("m", toks[i%len(toks)])
	}
	ctx := context.Background()
	// warm the connection up
	e.sender.Send(ctx, msgs[:1])
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; sent += benchBatch {
		n := min(benchBatch, b.N-sent)
		for i, r := range e.sender.Send(ctx, msgs[:n]) {
			if r.Outcome != channels.Delivered {
				b.Fatalf("message %d: %+v", i, r)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkBareLibrary is the same load through webpush-go alone: a
// pre-built payload, one HTTP/2 client, benchInFlight goroutines calling
// SendNotificationWithContext. Its ratio to BenchmarkSender is Herald's overhead.
func BenchmarkBareLibrary(b *testing.B) {
	e := newEnv(b, webpushfake.Config{}, Options{})
	subs := make([]*webpushgo.Subscription, benchSubscriptions)
	for i := range subs {
		var s webpushgo.Subscription
		if err := json.Unmarshal([]byte(e.subscribe(b, "")), &s); err != nil {
			b.Fatal(err)
		}
		subs[i] = &s
	}
	push, err := BuildPayload(message("m", ""))
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: e.srv.Pool()}, ForceAttemptHTTP2: true,
		MaxConnsPerHost: DefaultMaxConnsPerHost, MaxIdleConnsPerHost: DefaultMaxConnsPerHost,
	}}
	defer client.CloseIdleConnections()
	send := func(s *webpushgo.Subscription) {
		resp, err := webpushgo.SendNotificationWithContext(context.Background(), push.Payload, s, &webpushgo.Options{
			HTTPClient: client, Subscriber: "ops@example.com", TTL: push.TTL, Urgency: webpushgo.UrgencyNormal, Topic: push.Topic,
			VAPIDPublicKey: e.creds.VAPIDPublicKey, VAPIDPrivateKey: e.creds.VAPIDPrivateKey,
		})
		if err != nil {
			b.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Errorf("status %d", resp.StatusCode)
		}
	}
	send(subs[0]) // warm the connection up
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	work := make(chan int)
	var wg sync.WaitGroup
	for range benchInFlight {
		wg.Go(func() {
			for i := range work {
				send(subs[i%len(subs)])
			}
		})
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkBuildPayload is the payload builder alone.
func BenchmarkBuildPayload(b *testing.B) {
	msg := message("m", "")
	msg.Object["extra"] = map[string]any{"campaign": "spring", "n": 3.0}
	msg.Object["buttons"] = []any{map[string]any{"text": "Shop", "action": "URI", "uri": "https://shop.example.com"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildPayload(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is Herald's own work per message before webpush-go: the
// subscription parsed and checked, the endpoint policy, the payload built.
func BenchmarkPrepare(b *testing.B) {
	pub, priv, _ := GenerateVAPIDKeys()
	s, err := New(context.Background(), Credentials{VAPIDPublicKey: pub, VAPIDPrivateKey: priv, Subject: "ops@example.com"}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p, a := testKeys(b)
	msg := message("m", `{"endpoint":"https://fcm.googleapis.com/fcm/send/cXyz:APA91bHxyz","keys":{"p256dh":"`+p+`","auth":"`+a+`"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, r := s.prepare(msg); r != nil {
			b.Fatal(r.Err)
		}
	}
}
