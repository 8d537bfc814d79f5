package webpush

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// ErrEndpointNotAllowed is returned (wrapped) for an endpoint outside an
// EndpointPolicy.
var ErrEndpointNotAllowed = errors.New("webpush: endpoint not allowed")

// EndpointPolicy says which push services Herald may contact. A subscription
// endpoint comes from a browser through the SDK, that is from outside: without
// a policy, anyone able to register a token could make Herald post to any URL.
type EndpointPolicy struct {
	// AllowedHosts are the push services' host names: an entry matches that host
	// exactly, or, written "*.example.com", any subdomain of example.com (at any
	// depth, not example.com itself). Case does not matter. nil means
	// DefaultAllowedHosts(); an empty non-nil list allows no host.
	AllowedHosts []string
	// AllowLoopback also allows localhost, 127.0.0.0/8 and ::1, over http or
	// https and on any port: herald dev, herald fakes and tests. Default false.
	AllowLoopback bool
}

// DefaultAllowedHosts lists the push services of the major browsers: Chrome and
// most Chromium-based browsers use FCM, Firefox Mozilla's autopush, Edge on
// Windows WNS, Safari Apple's web push service. Each call returns a new slice.
func DefaultAllowedHosts() []string {
	return []string{
		"fcm.googleapis.com",                // Chrome and Chromium-based browsers
		"updates.push.services.mozilla.com", // Firefox
		"*.push.services.mozilla.com",
		"*.notify.windows.com", // Edge on Windows (WNS: wns2-*.notify.windows.com)
		"web.push.apple.com",   // Safari (Apple asks to allow *.push.apple.com)
		"*.push.apple.com",
	}
}

// DefaultPolicy is the production policy: DefaultAllowedHosts over https, no loopback.
func DefaultPolicy() EndpointPolicy { return EndpointPolicy{AllowedHosts: DefaultAllowedHosts()} }

func (p EndpointPolicy) hosts() []string {
	if p.AllowedHosts == nil {
		return DefaultAllowedHosts()
	}
	return p.AllowedHosts
}

// Validate checks the allow-list entries: host names or "*." followed by a
// domain with at least one dot, without scheme, port or path.
func (p EndpointPolicy) Validate() error {
	var errs []error
	for i, h := range p.AllowedHosts {
		name := strings.TrimPrefix(h, "*.")
		if h != name && !strings.Contains(name, ".") {
			errs = append(errs, fmt.Errorf("allowed_hosts[%d] %q: a wildcard needs a domain with a dot (*.example.com)", i, h))
			continue
		}
		if !validHostName(name) {
			errs = append(errs, fmt.Errorf("allowed_hosts[%d] %q: not a host name (no scheme, port, path or wildcard other than a leading *.)", i, h))
		}
	}
	return errors.Join(errs...)
}

func validHostName(h string) bool {
	if h == "" || len(h) > 253 || strings.HasSuffix(h, ".") {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Check reports whether Herald may post to endpoint: an absolute https URL on
// the default port whose host is on the allow-list, or, when AllowLoopback is
// set, any http(s) URL on a loopback host. URLs with user info or a fragment are
// refused. The error wraps ErrEndpointNotAllowed, names the host and the reason,
// and never quotes the endpoint's path (it is the subscription's secret).
func (p EndpointPolicy) Check(endpoint string) error {
	if len(endpoint) > maxEndpointLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrEndpointNotAllowed, maxEndpointLen)
	}
	u, err := url.Parse(endpoint)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%w: not an absolute URL", ErrEndpointNotAllowed)
	}
	if u.User != nil {
		return fmt.Errorf("%w: user info in the URL", ErrEndpointNotAllowed)
	}
	if u.Fragment != "" || strings.Contains(endpoint, "#") {
		return fmt.Errorf("%w: a fragment in the URL", ErrEndpointNotAllowed)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("%w: scheme %q (https only)", ErrEndpointNotAllowed, u.Scheme)
	}
	host := strings.ToLower(u.Hostname())
	if isLoopback(host) {
		if p.AllowLoopback {
			return nil
		}
		return fmt.Errorf("%w: loopback host %q (allowed only in dev and test)", ErrEndpointNotAllowed, host)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("%w: host %q over http (https only)", ErrEndpointNotAllowed, host)
	}
	if port := u.Port(); port != "" && port != "443" {
		return fmt.Errorf("%w: host %q on port %s (only the https port)", ErrEndpointNotAllowed, host, port)
	}
	hosts := p.hosts()
	for _, pattern := range hosts {
		if hostMatches(host, strings.ToLower(pattern)) {
			return nil
		}
	}
	return fmt.Errorf("%w: host %q is not a push service on the allow-list (%s)", ErrEndpointNotAllowed, host, strings.Join(hosts, ", "))
}

func hostMatches(host, pattern string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok && strings.HasPrefix(suffix, ".") {
		return len(host) > len(suffix) && strings.HasSuffix(host, suffix) && host[len(host)-len(suffix)-1] != '.'
	}
	return host == pattern
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
