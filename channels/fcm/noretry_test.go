package fcm

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fcm/fcmfake"
)

// sendOne sends one message and checks it took exactly one POST: the SDK
// must not send it again by itself.
func sendOne(t *testing.T, e *env, s *Sender, m channels.Message) channels.Result {
	t.Helper()
	before := e.srv.Fake.Sends()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := s.Send(ctx, []channels.Message{m})[0]
	if n := e.srv.Fake.Sends() - before; n != 1 {
		t.Errorf("%s: %d POSTs for one Send, want 1 (%s %q)", m.Token, n, r.Outcome, r.Reason)
	}
	return r
}

// checkRetry checks a Retry result without Pause, its reason, wait and the
// ProviderError's status.
func checkRetry(t *testing.T, r channels.Result, reason string, after time.Duration, status int) {
	t.Helper()
	var pe *channels.ProviderError
	if r.Outcome != channels.Retry || r.Pause || r.Reason != reason || r.After != after ||
		!errors.As(r.Err, &pe) || pe.Status != status || pe.Reason != reason {
		t.Errorf("%s pause %v reason %q after %s (%v); want retry %q after %s, status %d",
			r.Outcome, r.Pause, r.Reason, r.After, r.Err, reason, after, status)
	}
}

// An answer slower than Options.Timeout: FCM may have accepted the message,
// so it is Retry for the queue, never sent again within Send (which made a
// duplicate on the device).
func TestSendTimeoutIsNotResent(t *testing.T) {
	t.Parallel()
	// The slow answer takes well over the timeout and the timeout leaves room
	// for a normal answer on a loaded machine (the whole suite runs at once).
	e := newEnv(t, fcmfake.Config{Script: func(token string, attempt int) (fcmfake.Answer, bool) {
		if strings.HasPrefix(token, "late") && attempt == 1 {
			time.Sleep(2 * time.Second)
		}
		return fcmfake.Answer{}, strings.HasPrefix(token, "late")
	}})
	s := e.sender(t, e.creds(), Options{Timeout: 700 * time.Millisecond})
	// Fetch the access token first, so the timed send times the message only.
	for i := 0; ; i++ {
		if r := s.Send(context.Background(), []channels.Message{message("warm-up")})[0]; r.Outcome == channels.Delivered {
			break
		} else if i == 4 {
			t.Fatalf("warm-up: %s %q %v", r.Outcome, r.Reason, r.Err)
		}
	}
	start := time.Now()
	r := sendOne(t, e, s, message("late-1"))
	checkRetry(t, r, "timeout", 0, 0)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Send took %s with a 700ms timeout", d)
	}
	time.Sleep(1500 * time.Millisecond)      // let the fake finish the first attempt
	if n := e.srv.Recorder().Len(); n != 1 { // the warm-up only
		t.Errorf("%d records besides the warm-up of a timed-out message", n-1)
	}
	// The queue's retry is the second attempt.
	if r := sendOne(t, e, s, message("late-1")); r.Outcome != channels.Delivered {
		t.Errorf("second Send: %s %q %v", r.Outcome, r.Reason, r.Err)
	}
}

// A 503 is Retry after the server's Retry-After, at once: the SDK's own 503
// retries (up to 4 × Retry-After) held Send out of the queue's sight.
func TestSend503IsNotRetriedBySDK(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{Script: func(token string, _ int) (fcmfake.Answer, bool) {
		switch token {
		case "busy-1":
			return fcmfake.Answer{Status: 503, Code: CodeUnavailable, RetryAfter: "2"}, true
		case "busy-bare":
			return fcmfake.Answer{Status: 503, RetryAfter: "3"}, true
		}
		return fcmfake.Answer{}, false
	}})
	s := e.sender(t, e.creds(), Options{})
	start := time.Now()
	checkRetry(t, sendOne(t, e, s, message("busy-1")), CodeUnavailable, 2*time.Second, 503)
	checkRetry(t, sendOne(t, e, s, message("busy-bare")), "UNAVAILABLE", 3*time.Second, 503)
	if d := time.Since(start); d > time.Second {
		t.Errorf("two 503s took %s", d)
	}
}

// A stream reset after the request was written: FCM may have the message.
func TestSendConnectionResetIsNotResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{Script: func(token string, attempt int) (fcmfake.Answer, bool) {
		if token == "reset-1" && attempt == 1 {
			return fcmfake.Answer{Cut: fcmfake.CutBeforeAnswer}, true
		}
		return fcmfake.Answer{}, false
	}})
	s := e.sender(t, e.creds(), Options{})
	checkRetry(t, sendOne(t, e, s, message("reset-1")), "transport_error", 0, 0)
}

// A 200 whose body breaks off: FCM accepted the message; sending it again
// within Send put it twice on the device.
func TestSendBodyCutAfterAcceptIsNotResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{Script: func(token string, attempt int) (fcmfake.Answer, bool) {
		if token == "cut-1" && attempt == 1 {
			return fcmfake.Answer{Cut: fcmfake.CutDuringBody}, true
		}
		return fcmfake.Answer{}, false
	}})
	s := e.sender(t, e.creds(), Options{})
	checkRetry(t, sendOne(t, e, s, message("cut-1")), "transport_error", 0, 0)
	if n := e.srv.Recorder().Len(); n != 1 {
		t.Errorf("the message reached the device %d times, want 1", n)
	}
}

// No connection at all: nothing was sent; Retry at once, not after the
// SDK's backoff (0 + 1 + 2 + 4 s).
func TestSendConnectFailureIsRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fcmfake.Config{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "https://" + l.Addr().String() + "/v1"
	_ = l.Close()
	s := e.sender(t, Credentials{ServiceAccountJSON: e.key, Endpoint: closed}, Options{})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	checkRetry(t, s.Send(ctx, messages("ok", 1))[0], "connect_failed", 0, 0)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Send took %s", d)
	}
}
