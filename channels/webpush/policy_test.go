package webpush

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestEndpointPolicyCheck(t *testing.T) {
	t.Parallel()
	def := EndpointPolicy{}
	dev := EndpointPolicy{AllowLoopback: true}
	custom := EndpointPolicy{AllowedHosts: []string{"push.example.com", "*.push.example.org"}}
	none := EndpointPolicy{AllowedHosts: []string{}}
	cases := []struct {
		policy   EndpointPolicy
		endpoint string
		want     string // empty: allowed; else part of the error
	}{
		// the browsers' real push services
		{def, "https://fcm.googleapis.com/fcm/send/cXyz:APA91bH", ""},
		{def, "https://fcm.googleapis.com/wp/cXyz", ""},
		{def, "https://updates.push.services.mozilla.com/wpush/v2/gAAAAA", ""},
		{def, "https://wns2-par02p.notify.windows.com/w/?token=BQYAAA", ""},
		{def, "https://web.push.apple.com/QGuN", ""},
		{def, "https://api.push.apple.com/3/device/x", ""},
		{def, "https://FCM.GoogleAPIs.com/fcm/send/x", ""},
		{def, "https://fcm.googleapis.com:443/fcm/send/x", ""},
		// refused
		{def, "http://fcm.googleapis.com/fcm/send/x", "over http"},
		{def, "https://fcm.googleapis.com:8443/fcm/send/x", "port 8443"},
		{def, "https://storage.googleapis.com/bucket/x", `host "storage.googleapis.com" is not a push service`},
		{def, "https://notify.windows.com/x", "not a push service"}, // *.x does not match x itself
		{def, "https://evilnotify.windows.com.attacker.net/x", "not a push service"},
		{def, "https://push.apple.com.evil.com/x", "not a push service"},
		{def, "https://fcm.googleapis.com.evil.com/x", "not a push service"},
		{def, "https://fcm.googleapis.com./x", "not a push service"},
		{def, "https://10.0.0.5/x", "not a push service"},
		{def, "https://169.254.169.254/latest/meta-data", "not a push service"},
		{def, "https://user:pw@fcm.googleapis.com/x", "user info"},
		{def, "https://fcm.googleapis.com/x#frag", "fragment"},
		{def, "ftp://fcm.googleapis.com/x", `scheme "ftp"`},
		{def, "/fcm/send/x", "not an absolute URL"},
		{def, "fcm.googleapis.com/fcm/send/x", "not an absolute URL"},
		{def, "https://127.0.0.1:8443/push/x", "loopback host"},
		{def, "http://localhost/push/x", "loopback host"},
		{def, "https://[::1]/push/x", "loopback host"},
		{def, "https://fcm.googleapis.com/" + strings.Repeat("a", 2100), "longer than"},
		// loopback when allowed
		{dev, "https://127.0.0.1:8443/push/x", ""},
		{dev, "http://127.0.0.2:9/push/x", ""},
		{dev, "http://localhost:8080/push/x", ""},
		{dev, "https://[::1]:1/push/x", ""},
		{dev, "https://fcm.googleapis.com/fcm/send/x", ""},
		{dev, "http://example.com/push/x", "over http"},
		// a custom list
		{custom, "https://push.example.com/x", ""},
		{custom, "https://a.b.push.example.org/x", ""},
		{custom, "https://push.example.org/x", "not a push service"},
		{custom, "https://fcm.googleapis.com/x", "not a push service"},
		{none, "https://fcm.googleapis.com/x", "not a push service"},
	}
	for _, c := range cases {
		err := c.policy.Check(c.endpoint)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.endpoint, err)
		case c.want != "" && err == nil:
			t.Errorf("%s: allowed, want refused (%s)", c.endpoint, c.want)
		case c.want != "" && (!errors.Is(err, ErrEndpointNotAllowed) || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: error %v, want ErrEndpointNotAllowed saying %q", c.endpoint, err, c.want)
		}
		if err != nil {
			if u, perr := url.Parse(c.endpoint); perr == nil && len(u.Path) > 3 && strings.Contains(err.Error(), u.Path) {
				t.Errorf("%s: the error quotes the endpoint's path: %v", c.endpoint, err)
			}
		}
	}
}

func TestEndpointPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	ok := EndpointPolicy{AllowedHosts: []string{"push.example.com", "*.example.org", "10.1.2.3"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid list: %v", err)
	}
	bad := EndpointPolicy{AllowedHosts: []string{"https://push.example.com", "*.com", "push.example.com:443", "a.*.example.com", "", "push..example.com"}}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid entries accepted")
	}
	for i := range bad.AllowedHosts {
		if !strings.Contains(err.Error(), "allowed_hosts["+string(rune('0'+i))+"]") {
			t.Errorf("no error for entry %d %q: %v", i, bad.AllowedHosts[i], err)
		}
	}
}

func FuzzEndpointPolicyCheck(f *testing.F) {
	for _, s := range []string{
		"https://fcm.googleapis.com/fcm/send/x", "https://a.notify.windows.com/w/?token=1",
		"http://127.0.0.1:1/push/x", "https://x.push.apple.com.evil/x", "https://[::1]/x", "https://%66cm.googleapis.com/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, endpoint string) {
		if err := DefaultPolicy().Check(endpoint); err != nil {
			if !errors.Is(err, ErrEndpointNotAllowed) {
				t.Fatalf("error %v does not wrap ErrEndpointNotAllowed", err)
			}
			return
		}
		// allowed by the default policy: https, default port, a listed host
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != "https" || (u.Port() != "" && u.Port() != "443") {
			t.Fatalf("allowed %q (%v)", endpoint, err)
		}
		host := strings.ToLower(u.Hostname())
		for _, p := range DefaultAllowedHosts() {
			if host == p || (strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:])) {
				return
			}
		}
		t.Fatalf("allowed %q whose host %q is not listed", endpoint, host)
	})
}
