package fake

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecorderKeepsTheNewestWithinItsLimit(t *testing.T) {
	t.Parallel()
	r := NewRecorder(3)
	for i := 0; i < 10; i++ {
		r.Add(Record{Channel: "apns", Token: fmt.Sprint(i)})
	}
	got := r.List()
	if len(got) != 3 || got[0].Token != "7" || got[2].Token != "9" || r.Len() != 3 {
		t.Fatalf("List = %v", got)
	}
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	_, _ = fmt.Fprint(&b, res.Header.Get("Content-Type"))
	res.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, srv.URL, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %v %v", res, err)
	}
	if r.Len() != 0 {
		t.Fatal("records survive DELETE")
	}
}

func TestBehaviorsAndAttempts(t *testing.T) {
	t.Parallel()
	b := ParseBehavior("slow-FLAKY-token")
	if !b.Slow || !b.Flaky || b.Throttle || b.Unregistered || b.BadDevice {
		t.Fatalf("ParseBehavior = %+v", b)
	}
	var a Attempts
	done := make(chan struct{})
	close(done)
	if d := Decide(ParseBehavior("throttle"), a.Next("t"), done); d != Throttled {
		t.Fatalf("first throttle attempt = %v", d)
	}
	if d := Decide(ParseBehavior("throttle"), a.Next("t"), done); d != Accept {
		t.Fatalf("second throttle attempt = %v", d)
	}
	if d := Decide(ParseBehavior("unregistered"), a.Next("u"), done); d != Gone {
		t.Fatalf("unregistered = %v", d)
	}
}
