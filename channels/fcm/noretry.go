package fcm

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// The firebase SDK retries, within Send, every transport error (a timeout, a
// connection reset after the request was written, a body that breaks off
// after a 200) and every 503, up to 4 times and for up to 4 × Retry-After.
// A message FCM may already have accepted would be sent twice (a duplicate
// on the device), and a 503 would hold Send for minutes, out of the queue's
// sight. So the SDK never sees a transport error or a 503: the transport
// turns them into answers with statusNoRetry, which it does not retry, and
// the classifier reads Herald's headers back. Retries live in the queue.
const (
	// statusNoRetry is the status of a synthetic answer (and of a 503
	// renamed); the SDK retries only network errors and 503.
	statusNoRetry = 599
	// headerTransportError marks a synthetic answer for a transport failure;
	// its value is the Result.Reason.
	headerTransportError = "X-Herald-Transport-Error"
	// headerStatus carries the real status of a renamed answer (503).
	headerStatus = "X-Herald-Status"
)

// Reasons of transport failures (Result.Reason, with Outcome Retry).
const (
	// ReasonConnectFailed: no connection could be made (dial, TLS
	// handshake); nothing was sent.
	ReasonConnectFailed = "connect_failed"
	// ReasonTimeout: no complete answer within Options.Timeout; FCM may have
	// accepted the message.
	ReasonTimeout = "timeout"
	// ReasonTransportError: the exchange broke off after the request may
	// have been written (reset, body cut); FCM may have accepted the message.
	ReasonTransportError = "transport_error"
	// ReasonTokenUnavailable: no access token could be had (a refresh in the
	// middle of a batch failed); nothing was sent.
	ReasonTokenUnavailable = "token_unavailable"
)

// maxAnswerBytes bounds an FCM answer's body (a message name or an error,
// well under 1 KiB); a longer one counts as a transport error.
const maxAnswerBytes = 1 << 20

// noRetry sits under oauth2.Transport and the in-flight bound: it bounds
// each request, from sending to its answer read, with a context deadline,
// reads the answer whole (so a body breaking off is a transport error here,
// not a network error the SDK would retry), and turns transport errors and
// 503 into answers the SDK does not retry.
type noRetry struct {
	base    http.RoundTripper
	timeout time.Duration
}

func (n noRetry) RoundTrip(r *http.Request) (*http.Response, error) {
	outer := r.Context()
	ctx, cancel := context.WithTimeout(outer, n.timeout)
	defer cancel()
	resp, err := n.base.RoundTrip(r.WithContext(ctx))
	var body []byte
	if err == nil {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
		_ = resp.Body.Close()
		if err == nil && len(body) > maxAnswerBytes {
			err = fmt.Errorf("answer body over %d bytes", maxAnswerBytes)
		}
	}
	if err != nil {
		if outer.Err() != nil {
			// Send's context ended: the SDK returns at once without another
			// attempt (it checks the context before retrying).
			return nil, err
		}
		return transportFailure(r, err), nil
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Del(headerTransportError) // only Herald sets them
	resp.Header.Del(headerStatus)
	if resp.StatusCode == http.StatusServiceUnavailable {
		resp.Header.Set(headerStatus, strconv.Itoa(resp.StatusCode)) // Retry-After stays
		resp.StatusCode = statusNoRetry
		resp.Status = strconv.Itoa(statusNoRetry) + " Service Unavailable (503)"
	}
	return resp, nil
}

// transportFailure is the synthetic answer to a request that failed in
// transport: statusNoRetry, the reason in headerTransportError, and a
// google.rpc error body the SDK turns into its error's message.
func transportFailure(r *http.Request, err error) *http.Response {
	reason := ReasonTransportError
	var ne net.Error
	switch {
	case nothingSent(err):
		reason = ReasonConnectFailed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		reason = ReasonTimeout
	}
	return syntheticAnswer(r, reason, err)
}

// syntheticAnswer is an answer with statusNoRetry for a failure that is not
// FCM's.
func syntheticAnswer(r *http.Request, reason string, err error) *http.Response {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{
		"code": statusNoRetry, "status": "UNAVAILABLE", "message": reason + ": " + err.Error()}})
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set(headerTransportError, reason)
	return &http.Response{StatusCode: statusNoRetry, Status: strconv.Itoa(statusNoRetry) + " " + reason,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h,
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

// nothingSent reports whether a transport error happened before the request
// could be written: no connection (dial, proxy) or a failed TLS handshake.
// Anything else may come after FCM received the message.
func nothingSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var cv *tls.CertificateVerificationError
	var rh tls.RecordHeaderError
	return errors.As(err, &cv) || errors.As(err, &rh)
}

// tokenGuard sits over oauth2.Transport. Everything under it answers rather
// than fails (but for Send's context ending), so an error here is the access
// token's: a refresh failed. It becomes a synthetic answer, which the SDK
// does not retry; nothing was sent.
type tokenGuard struct {
	base http.RoundTripper
}

func (g tokenGuard) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := g.base.RoundTrip(r)
	if err != nil && r.Context().Err() == nil {
		return syntheticAnswer(r, ReasonTokenUnavailable, err), nil
	}
	return resp, err
}
