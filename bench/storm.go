package main

import (
	"net/http"
	"strings"

	"github.com/herald-oss/herald/channels/apns/apnsfake"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
	"github.com/herald-oss/herald/channels/webpush/webpushfake"
)

// The fakes' scripts (fakes.go) run for every send attempt that passed the
// fake's verification. They count the attempts on unregistered tokens and,
// while a storm is on, answer one attempt in three with back-pressure: 429
// with Retry-After: 1 and 503 in turn, each in its provider's own format.
// Otherwise they leave the answer to the token's behaviour.

// stormAnswer is what the storm does to the next attempt.
type stormAnswer int

const (
	stormPass stormAnswer = iota
	stormThrottle
	stormUnavailable
)

// setStorm turns the storm on or off.
func (f *fakes) setStorm(on bool) { f.storming.Store(on) }

// stormedCount is how many attempts the storm refused so far.
func (f *fakes) stormedCount() int64 { return f.stormed.Load() }

// attempt counts an attempt on token and decides whether the storm refuses it.
func (f *fakes) attempt(token string) stormAnswer {
	if strings.Contains(token, "unregistered") {
		f.deadMu.Lock()
		f.deadAttempts[token]++
		f.deadMu.Unlock()
	}
	if !f.storming.Load() {
		return stormPass
	}
	switch f.stormSeq.Add(1) % 6 {
	case 0:
		f.stormed.Add(1)
		return stormThrottle
	case 3:
		f.stormed.Add(1)
		return stormUnavailable
	}
	return stormPass
}

// deadAttemptCounts returns the attempts per unregistered token so far.
func (f *fakes) deadAttemptCounts() map[string]int {
	f.deadMu.Lock()
	defer f.deadMu.Unlock()
	out := make(map[string]int, len(f.deadAttempts))
	for k, v := range f.deadAttempts {
		out[k] = v
	}
	return out
}

func (f *fakes) apnsScript(token string) (int, string, string, bool) {
	switch f.attempt(token) {
	case stormThrottle:
		return http.StatusTooManyRequests, apnsfake.ReasonTooManyRequests, "1", true
	case stormUnavailable:
		return http.StatusServiceUnavailable, apnsfake.ReasonServiceUnavailable, "", true
	}
	return 0, "", "", false
}

func (f *fakes) fcmScript(token string, _ int) (fcmfake.Answer, bool) {
	switch f.attempt(token) {
	case stormThrottle:
		return fcmfake.Answer{Status: http.StatusTooManyRequests, Code: "QUOTA_EXCEEDED", RetryAfter: "1"}, true
	case stormUnavailable:
		return fcmfake.Answer{Status: http.StatusServiceUnavailable, Code: "UNAVAILABLE"}, true
	}
	return fcmfake.Answer{}, false
}

func (f *fakes) webScript(a webpushfake.Attempt) (webpushfake.Reply, bool) {
	switch f.attempt(a.ID) {
	case stormThrottle:
		return webpushfake.Reply{Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}}, true
	case stormUnavailable:
		return webpushfake.Reply{Status: http.StatusServiceUnavailable}, true
	}
	return webpushfake.Reply{}, false
}
