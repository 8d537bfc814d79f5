package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	firebase "firebase.google.com/go/v4"
	"firebase.google.com/go/v4/messaging"
	webpushgo "github.com/SherClockHolmes/webpush-go"
	"github.com/sideshow/apns2"
	"github.com/sideshow/apns2/payload"
	"github.com/sideshow/apns2/token"
	"golang.org/x/net/http2"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/option"

	"github.com/herald-oss/herald/channels/webpush"
)

// The bare loop's in-flight bounds: Herald's per-app defaults
// (providers.apns.max_in_flight, providers.fcm.max_in_flight,
// providers.webpush.max_in_flight and its connections per push service).
const (
	bareAPNsInFlight = 256
	bareFCMInFlight  = 500
	bareFCMBatch     = 500 // SendEach's maximum
	bareFCMCallers   = 4   // SendEach calls at once, sharing bareFCMInFlight
	bareWebInFlight  = 256
	bareWebConns     = 32
)

// bareResult is what the bare loop's own clients saw.
type bareResult struct {
	// Sent counts attempts by channel; Failed counts answers that were
	// neither a success nor the expected "gone" for a dead token.
	Sent       [numChannels]int64
	Failed     [numChannels]int64
	FirstError string
	Elapsed    time.Duration
}

// runBare sends one message to every device of s straight to the fakes with
// the libraries Herald's senders use (sideshow/apns2, the firebase Admin SDK's
// SendEach, webpush-go), each channel at Herald's default in-flight bound and
// all three at once: no queue, store, templates or ledger. The payloads carry
// the same personalized title and body, built with string concatenation.
func runBare(ctx context.Context, f *fakes, s *deviceSet) (*bareResult, error) {
	var byCh [numChannels][]int
	for i, d := range s.devices {
		byCh[d.ch] = append(byCh[d.ch], i)
	}
	apns, err := newBareAPNs(f)
	if err != nil {
		return nil, err
	}
	defer apns.CloseIdleConnections()
	fcm, err := newBareFCM(ctx, f)
	if err != nil {
		return nil, err
	}
	web := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: f.l.Pool()}, ForceAttemptHTTP2: true,
		MaxConnsPerHost: bareWebConns, MaxIdleConnsPerHost: bareWebConns,
	}}
	defer web.CloseIdleConnections()

	res := &bareResult{}
	var errOnce sync.Once
	fail := func(ch int, err error) {
		atomic.AddInt64(&res.Failed[ch], 1)
		errOnce.Do(func() { res.FirstError = channelNames[ch] + ": " + err.Error() })
	}
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		pool(byCh[chAPNs], bareAPNsInFlight, func(i int) {
			atomic.AddInt64(&res.Sent[chAPNs], 1)
			if err := apns.push(ctx, s.devices[i], i); err != nil {
				fail(chAPNs, err)
			}
		})
	})
	wg.Go(func() {
		var next atomic.Int64
		var callers sync.WaitGroup
		for range bareFCMCallers {
			callers.Go(func() {
				for {
					first := int(next.Add(bareFCMBatch)) - bareFCMBatch
					if first >= len(byCh[chFCM]) {
						return
					}
					batch := byCh[chFCM][first:min(first+bareFCMBatch, len(byCh[chFCM]))]
					atomic.AddInt64(&res.Sent[chFCM], int64(len(batch)))
					for _, err := range fcm.send(ctx, s, batch) {
						fail(chFCM, err)
					}
				}
			})
		}
		callers.Wait()
	})
	wg.Go(func() {
		pool(byCh[chWeb], bareWebInFlight, func(i int) {
			atomic.AddInt64(&res.Sent[chWeb], 1)
			if err := pushWeb(ctx, web, f, s.devices[i], i); err != nil {
				fail(chWeb, err)
			}
		})
	})
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, ctx.Err()
}

// pool runs fn on every item from n goroutines.
func pool(items []int, n int, fn func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, len(items)) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(items) {
					return
				}
				fn(items[k])
			}
		})
	}
	wg.Wait()
}

// bareID is a bare message's id, also its collapse id.
func bareID(i int) string { return "bare-" + strconv.Itoa(i) }

// expectStatus checks a dead device got its provider's "gone" status and a
// live one success.
func expectStatus(d device, status, ok, gone int) error {
	switch {
	case d.dead && status == gone, !d.dead && status == ok:
		return nil
	}
	return fmt.Errorf("status %d for a %s token", status, map[bool]string{true: "dead", false: "live"}[d.dead])
}

type bareAPNs struct{ *apns2.Client }

func newBareAPNs(f *fakes) (*bareAPNs, error) {
	tok := &token.Token{AuthKey: f.apnsKey, KeyID: fakeKeyID, TeamID: fakeTeamID}
	if _, err := tok.Generate(); err != nil {
		return nil, err
	}
	c := apns2.NewTokenClient(tok)
	c.Host = f.base
	tr, ok := c.HTTPClient.Transport.(*http2.Transport)
	if !ok {
		return nil, fmt.Errorf("apns2's transport is a %T, not *http2.Transport", c.HTTPClient.Transport)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: f.l.Pool()}
	return &bareAPNs{c}, nil
}

func (c *bareAPNs) push(ctx context.Context, d device, i int) error {
	id := bareID(i)
	p := payload.NewPayload().AlertTitle(userTitle(i)).AlertBody(userBody(i)).
		Custom("herald_message_id", id).Custom("herald_dispatch_id", "bare")
	res, err := c.PushWithContext(ctx, &apns2.Notification{DeviceToken: d.token, Topic: fakeTopic, CollapseID: id,
		PushType: apns2.PushTypeAlert, Priority: apns2.PriorityHigh, Payload: p})
	if err != nil {
		return err
	}
	return expectStatus(d, res.StatusCode, http.StatusOK, http.StatusGone)
}

type bareFCM struct{ *messaging.Client }

// newBareFCM is the firebase SDK with the service account's OAuth tokens
// from the fake, its HTTP/2 transport bounded to bareFCMInFlight requests.
func newBareFCM(ctx context.Context, f *fakes) (*bareFCM, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: f.l.Pool()}
	tr.ForceAttemptHTTP2 = true
	tr.MaxIdleConnsPerHost = 100
	conf, err := google.JWTConfigFromJSON(f.saJSON, "https://www.googleapis.com/auth/firebase.messaging")
	if err != nil {
		return nil, err
	}
	ts := conf.TokenSource(context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, &http.Client{Transport: tr}))
	limited := &boundedTransport{base: tr, slots: make(chan struct{}, bareFCMInFlight)}
	app, err := firebase.NewApp(ctx, &firebase.Config{ProjectID: fakeProject},
		option.WithHTTPClient(&http.Client{Transport: &oauth2.Transport{Source: ts, Base: limited}}),
		option.WithEndpoint(f.base+"/v1"))
	if err != nil {
		return nil, err
	}
	c, err := app.Messaging(ctx)
	if err != nil {
		return nil, err
	}
	return &bareFCM{c}, nil
}

// send sends one SendEach batch and returns the unexpected outcomes.
func (c *bareFCM) send(ctx context.Context, s *deviceSet, batch []int) []error {
	msgs := make([]*messaging.Message, len(batch))
	for k, i := range batch {
		id := bareID(i)
		msgs[k] = &messaging.Message{Token: s.devices[i].token,
			Data: map[string]string{"herald_message_id": id, "herald_dispatch_id": "bare", "herald_collapse_id": id},
			Android: &messaging.AndroidConfig{Notification: &messaging.AndroidNotification{
				Title: userTitle(i), Body: userBody(i), Tag: id}}}
	}
	br, err := c.SendEach(ctx, msgs)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for k, r := range br.Responses {
		d := s.devices[batch[k]]
		switch {
		case r.Success && !d.dead, !r.Success && d.dead && messaging.IsUnregistered(r.Error):
		case r.Success:
			errs = append(errs, fmt.Errorf("a dead token was accepted"))
		default:
			errs = append(errs, r.Error)
		}
	}
	return errs
}

// boundedTransport bounds the requests in flight.
type boundedTransport struct {
	base  http.RoundTripper
	slots chan struct{}
}

func (t *boundedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case t.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { <-t.slots }()
	return t.base.RoundTrip(r)
}

// webMessage is the JSON a service worker reads.
type webMessage struct {
	Title     string `json:"title"`
	Body      string `json:"body"`
	Tag       string `json:"tag"`
	MessageID string `json:"herald_message_id"`
	Dispatch  string `json:"herald_dispatch_id"`
}

func pushWeb(ctx context.Context, client *http.Client, f *fakes, d device, i int) error {
	var sub webpushgo.Subscription
	if err := json.Unmarshal([]byte(d.token), &sub); err != nil {
		return err
	}
	id := bareID(i)
	body, err := json.Marshal(webMessage{Title: userTitle(i), Body: userBody(i), Tag: id, MessageID: id, Dispatch: "bare"})
	if err != nil {
		return err
	}
	resp, err := webpushgo.SendNotificationWithContext(ctx, body, &sub, &webpushgo.Options{
		HTTPClient: client, Subscriber: fakeSubject, TTL: 2419200, Urgency: webpushgo.UrgencyNormal,
		Topic: webpush.Topic(id), RecordSize: webpush.RecordSize,
		VAPIDPublicKey: f.vapidPub, VAPIDPrivateKey: f.vapidPriv,
	})
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return expectStatus(d, resp.StatusCode, http.StatusCreated, http.StatusGone)
}
