package templates

import (
	"testing"
	"time"
)

// TestConnectedContentBrazeDefaults checks the request headers and body
// Braze documents (local_connected_content_variables): a GET sends
// Content-Type application/json and Accept */*, a POST a form content type,
// :headers replace the defaults, and :content_type application/json turns a
// form body into JSON.
func TestConnectedContentBrazeDefaults(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	out := `{{r.method}}|{{r.ctype}}|{{r.accept}}|{{r.body}}`
	for _, tc := range []struct{ name, tag, want string }{
		{"GET", `{% connected_content {{base}}/echo :save r %}`, "GET|application/json|*/*|"},
		{"POST", `{% connected_content {{base}}/echo :method post :body a=1 :save r %}`,
			"POST|application/x-www-form-urlencoded|*/*|a=1"},
		{"POST with a JSON header", "{% capture postbody %}{\"foo\": \"bar\"}{% endcapture %}" +
			`{% connected_content {{base}}/echo :method post :headers {"Content-Type": "application/json"} :body {{postbody}} :save r %}`,
			`POST|application/json|*/*|{"foo": "bar"}`},
		{"inline JSON body", `{% connected_content {{base}}/echo :method post :body {"foo":"bar","baz":"{{1|plus:1}}"} :content_type application/json :save r %}`,
			`POST|application/json|application/json|{"foo":"bar","baz":"2"}`},
		{"form body as JSON", `{% connected_content {{base}}/echo :method post :body campaign={{c}}&customer=u%201&channel=Braze :content_type application/json :save r %}`,
			`POST|application/json|application/json|{"campaign":"New Year","customer":"u 1","channel":"Braze"}`},
	} {
		got, err := s.render(t, tc.tag+out, Vars{"c": "New Year"})
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}

// TestConnectedContentCacheAge checks Braze's caching rules: POST is cached
// only with :cache_max_age, and an age under 5 minutes counts as 5 minutes.
func TestConnectedContentCacheAge(t *testing.T) {
	t.Parallel()
	s := newCCSetup(t, false, nil)
	post := `{% connected_content {{base}}/count :method post :cache_max_age 900 :save c %}{{c.n}}`
	first, _ := s.render(t, post, nil)
	s.clock.Advance(10 * time.Minute)
	if again, _ := s.render(t, post, nil); again != first || s.srv.count("/count") != 1 {
		t.Errorf("POST with :cache_max_age not cached: %s then %s, %d requests", first, again, s.srv.count("/count"))
	}
	short := `{% connected_content {{base}}/count?short :cache_max_age 60 :save c %}{{c.n}}`
	first, _ = s.render(t, short, nil)
	s.clock.Advance(4 * time.Minute)
	if again, _ := s.render(t, short, nil); again != first {
		t.Errorf(":cache_max_age 60 expired before 5 min: %s then %s", first, again)
	}
	s.clock.Advance(2 * time.Minute)
	if again, _ := s.render(t, short, nil); again == first {
		t.Errorf(":cache_max_age 60 still cached after 6 min")
	}
}
