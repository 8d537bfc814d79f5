package fcmfake

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// rawPost sends a messages:send request and returns the response, or the
// transport error.
func rawPost(t *testing.T, srv *Server, bearer, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.Endpoint+"/projects/"+testProject+"/messages:send", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bearer)
	return httpClient(srv).Do(req)
}

// A cut answer fails the client as a network failure would: before the
// answer, the request fails; during the body, reading it fails (and an
// accepted message is recorded).
func TestSendCutAnswers(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{Script: func(token string, _ int) (Answer, bool) {
		switch token {
		case "cut-before":
			return Answer{Cut: CutBeforeAnswer}, true
		case "cut-body":
			return Answer{Cut: CutDuringBody}, true
		case "cut-body-503":
			return Answer{Status: 503, Code: CodeUnavailable, RetryAfter: "3", Cut: CutDuringBody}, true
		}
		return Answer{}, false
	}})
	tok := accessToken(t, srv, testProject)

	if resp, err := rawPost(t, srv, tok, `{"message":{"token":"cut-before"}}`); err == nil {
		resp.Body.Close()
		t.Errorf("cut before the answer: got %s, want a transport error", resp.Status)
	}
	if n := srv.Recorder().Len(); n != 0 {
		t.Errorf("cut before the answer: %d records, want 0", n)
	}

	for _, c := range []struct {
		token    string
		status   int
		retry    string
		recorded int
	}{{"cut-body", 200, "", 1}, {"cut-body-503", 503, "3", 1}} {
		resp, err := rawPost(t, srv, tok, `{"message":{"token":"`+c.token+`"}}`)
		if err != nil {
			t.Fatalf("%s: %v", c.token, err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Retry-After") != c.retry || err == nil {
			t.Errorf("%s: %s Retry-After %q, body error %v; want %d, %q and an error", c.token, resp.Status,
				resp.Header.Get("Retry-After"), err, c.status, c.retry)
		}
		if n := srv.Recorder().Len(); n != c.recorded {
			t.Errorf("%s: %d records, want %d", c.token, n, c.recorded)
		}
	}
	if n := srv.Fake.Sends(); n != 3 {
		t.Errorf("%d send requests, want 3", n)
	}
}

// The size limit applies to the data and notification JSON only: a long
// token or collapse key does not count.
func TestSendSizeLimitCountsPayloadOnly(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	tok := accessToken(t, srv, testProject)
	long := strings.Repeat("t", 300)
	// data {"k":"…"} is 8 bytes plus the value; the notification
	// {"title":"T"} is 13.
	fits := strings.Repeat("x", MaxPayloadBytes-8-13)
	body := func(value string) string {
		return `{"message":{"token":"` + long + `","data":{"k":"` + value + `"},"android":{"collapse_key":"` + long +
			`","notification":{"title":"T"}}}}`
	}
	if status, out := post(t, srv, testProject, tok, body(fits)); status != 200 {
		t.Errorf("a payload of exactly %d bytes: %d %v", MaxPayloadBytes, status, out)
	}
	status, out := post(t, srv, testProject, tok, body(fits+"x"))
	if rpc, code := fcmCode(out); status != 400 || rpc != "INVALID_ARGUMENT" || code != CodeInvalidArgument ||
		!strings.Contains(out["error"].(map[string]any)["message"].(string), "1 bytes over") {
		t.Errorf("one byte over: %d %v", status, out)
	}
}

// The record's collapse_id is android.collapse_key, else the notification
// tag (Herald's collapse id).
func TestSendRecordsCollapseID(t *testing.T) {
	t.Parallel()
	srv := start(t, Config{})
	tok := accessToken(t, srv, testProject)
	for _, c := range []struct{ token, android, want string }{
		{"both", `{"collapse_key":"ck","notification":{"title":"T","tag":"herald-1"}}`, "ck"},
		{"tag-only", `{"notification":{"title":"T","tag":"herald-2"}}`, "herald-2"},
		{"neither", `{"notification":{"title":"T"}}`, ""},
		{"data-only", `{"priority":"high"}`, ""},
	} {
		if status, out := post(t, srv, testProject, tok, `{"message":{"token":"`+c.token+`","android":`+c.android+`}}`); status != 200 {
			t.Fatalf("%s: %d %v", c.token, status, out)
		}
		got, recorded := "", false
		for _, r := range srv.Recorder().List() {
			if r.Token == c.token {
				got, recorded = r.CollapseID, true
			}
		}
		if !recorded || got != c.want {
			t.Errorf("%s: collapse_id %q (recorded %v), want %q", c.token, got, recorded, c.want)
		}
	}
}
