package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// device is one device of the fan-out audience; user i owns device i.
type device struct {
	ch int // chAPNs, chFCM or chWeb
	// token is what /users/track registers: the APNs or FCM token, or a web
	// PushSubscription JSON.
	token string
	// key is what the fakes record as the token: the APNs or FCM token, or
	// the web subscription's id.
	key  string
	dead bool
}

// deviceSet is the audience: one device per user, in a platform mix, a share
// of them with tokens the fakes answer as unregistered.
type deviceSet struct {
	devices []device
	// webIndex finds a web device by its subscription id.
	webIndex map[string]int
	live     [numChannels]int
	dead     [numChannels]int
}

// indexDigits is how many hexadecimal digits at the end of an APNs or FCM
// token hold the device's index.
const indexDigits = 8

// newDeviceSet makes n devices. mix weighs the channels; deadPct per cent of
// the devices (drawn at random) get "unregistered" tokens. Web subscriptions
// are minted by the Web Push fake, as a browser would get them.
func newDeviceSet(n int, mix [numChannels]int, deadPct float64, web *webpushfake.Fake) (*deviceSet, error) {
	rng := rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	salt := randomHex(28) // 56 hex digits: with the index, a 64-digit APNs token
	fcmPrefix := randomHex(72) + ":APA91b" + randomHex(36)
	total := 0
	for _, w := range mix {
		total += w
	}
	s := &deviceSet{devices: make([]device, n), webIndex: map[string]int{}}
	for i := range s.devices {
		d := &s.devices[i]
		pick := rng.IntN(total)
		for d.ch = 0; pick >= mix[d.ch]; d.ch++ {
			pick -= mix[d.ch]
		}
		d.dead = rng.Float64()*100 < deadPct
		idx := fmt.Sprintf("%0*x", indexDigits, i)
		switch d.ch {
		case chAPNs:
			d.token = salt + idx
			if d.dead {
				d.token = "unregistered-" + salt[13:] + idx
			}
			d.key = d.token
		case chFCM:
			d.token = fcmPrefix + idx
			if d.dead {
				d.token = "unregistered-" + fcmPrefix + idx
			}
			d.key = d.token
		case chWeb:
			behavior := ""
			if d.dead {
				behavior = "unregistered"
			}
			sub, err := web.NewSubscription(behavior)
			if err != nil {
				return nil, err
			}
			var parsed struct {
				Endpoint string `json:"endpoint"`
			}
			if err := json.Unmarshal([]byte(sub), &parsed); err != nil {
				return nil, fmt.Errorf("web push fake subscription: %w", err)
			}
			d.token = sub
			d.key = parsed.Endpoint[strings.LastIndexByte(parsed.Endpoint, '/')+1:]
			s.webIndex[d.key] = i
		}
		if d.dead {
			s.dead[d.ch]++
		} else {
			s.live[d.ch]++
		}
	}
	return s, nil
}

// find returns the index of the device a fake recorded token belongs to, or -1.
func (s *deviceSet) find(ch int, token string) int {
	if ch == chWeb {
		if i, ok := s.webIndex[token]; ok {
			return i
		}
		return -1
	}
	if len(token) < indexDigits {
		return -1
	}
	i, err := strconv.ParseUint(token[len(token)-indexDigits:], 16, 32)
	if err != nil || int(i) >= len(s.devices) || s.devices[i].ch != ch || s.devices[i].key != token {
		return -1
	}
	return int(i)
}

func (s *deviceSet) totalLive() int { return s.live[chAPNs] + s.live[chFCM] + s.live[chWeb] }
func (s *deviceSet) totalDead() int { return s.dead[chAPNs] + s.dead[chFCM] + s.dead[chWeb] }

// The personalization every message carries: a title with the user's first
// name, and a body chosen by the user's plan (the campaign's one `if`).
const (
	bodyPro   = "Your Pro perks are waiting"
	bodyOther = "Try Pro free for 30 days"
)

var benchNames = []string{"Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis"}

func userFirstName(i int) string { return benchNames[i%len(benchNames)] }
func userPlan(i int) string {
	if i%4 == 0 {
		return "pro"
	}
	return "free"
}
func userTitle(i int) string { return "Hi " + userFirstName(i) }
func userBody(i int) string {
	if userPlan(i) == "pro" {
		return bodyPro
	}
	return bodyOther
}

// channelApp is the app of each channel's devices.
var channelApp = [numChannels]string{appIOS, appAndroid, appWeb}

// userObject is one /users/track attribute object creating a user and its device.
type userObject struct {
	ExternalID string      `json:"external_id"`
	FirstName  string      `json:"first_name"`
	Plan       string      `json:"plan"`
	PushTokens []pushToken `json:"push_tokens"`
}

type pushToken struct {
	AppID string `json:"app_id"`
	Token string `json:"token"`
}

// ingestStats is how the audience was created.
type ingestStats struct {
	Users    int     `json:"users"`
	Requests int     `json:"requests"`
	Retries  int     `json:"retries"`
	ElapsedS float64 `json:"elapsed_s"`
	UsersPS  float64 `json:"users_per_s"`
}

// createUsers creates one user per device through /users/track, maxTrackObjects
// attribute objects a request, marked as a backfill (X-Braze-Bulk), from
// concurrency clients. Every object must be processed without error; a 429 or
// 503 is retried after the wait the server asked for.
func createUsers(ctx context.Context, baseURL, apiKey string, s *deviceSet, concurrency int) (ingestStats, error) {
	client := newHTTPClient(concurrency)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next, retries, requests atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var buf bytes.Buffer
			var body struct {
				Attributes []userObject `json:"attributes"`
			}
			for ctx.Err() == nil {
				first := int(next.Add(maxTrackObjects)) - maxTrackObjects
				if first >= len(s.devices) {
					return
				}
				body.Attributes = body.Attributes[:0]
				for i := first; i < min(first+maxTrackObjects, len(s.devices)); i++ {
					d := &s.devices[i]
					body.Attributes = append(body.Attributes, userObject{ExternalID: "bench-user-" + strconv.Itoa(i),
						FirstName: userFirstName(i), Plan: userPlan(i), PushTokens: []pushToken{{AppID: channelApp[d.ch], Token: d.token}}})
				}
				buf.Reset()
				if err := json.NewEncoder(&buf).Encode(&body); err != nil {
					cancel(err)
					return
				}
				n, err := postTrack(ctx, client, baseURL+"/users/track", apiKey, buf.Bytes(), len(body.Attributes))
				requests.Add(1)
				retries.Add(int64(n))
				if err != nil {
					cancel(fmt.Errorf("creating users %d-%d: %w", first, first+len(body.Attributes)-1, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return ingestStats{}, err
	}
	el := time.Since(start)
	return ingestStats{Users: len(s.devices), Requests: int(requests.Load()), Retries: int(retries.Load()),
		ElapsedS: round(el.Seconds(), 2), UsersPS: rate(int64(len(s.devices)), el)}, nil
}

// postTrack posts one bulk /users/track body until it is accepted (at most
// 10 tries on 429 and 503) and returns the number of retries.
func postTrack(ctx context.Context, client *http.Client, url, apiKey string, body []byte, objects int) (int, error) {
	for try := 0; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return try, err
		}
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Braze-Bulk", "true")
		resp, err := client.Do(req)
		if err != nil {
			return try, err
		}
		raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return try, err
		}
		switch {
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && try < 10:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			select {
			case <-ctx.Done():
				return try, ctx.Err()
			case <-time.After(wait):
			}
			continue
		case resp.StatusCode != http.StatusCreated:
			return try, fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncate(raw, 500))
		}
		var reply trackReply
		if err := json.Unmarshal(raw, &reply); err != nil {
			return try, fmt.Errorf("HTTP 201 with an unreadable body: %w", err)
		}
		if len(reply.Errors) > 0 {
			return try, fmt.Errorf("object error: %s", truncate(reply.Errors[0], 500))
		}
		if reply.AttributesProcessed != objects {
			return try, errors.New("attributes_processed " + strconv.Itoa(reply.AttributesProcessed) + ", want " + strconv.Itoa(objects))
		}
		return try, nil
	}
}
