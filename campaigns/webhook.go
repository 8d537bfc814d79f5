package campaigns

import (
	"net/url"
	"strings"
)

// webhookMethods are the request methods a webhook may use (POST when unset).
var webhookMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true}

// webhookFields are the keys of Braze's webhook object.
var webhookFields = map[string]bool{"url": true, "request_method": true, "request_headers": true, "body": true}

// validateWebhook checks a webhook object: url (required; an absolute http or
// https URL once rendered: checked now when it holds no Liquid, and by the
// sender after rendering), request_method, request_headers (an object of
// strings) and body (a string). The templates are parsed by the caller.
func validateWebhook(obj map[string]any, path string, ps *problems) {
	for k := range obj {
		if !webhookFields[k] {
			ps.add(path+"."+k, "unknown webhook field (want url, request_method, request_headers, body)")
		}
	}
	raw, ok := obj["url"].(string)
	switch {
	case !ok || strings.TrimSpace(raw) == "":
		ps.add(path+".url", "required")
	case !hasLiquid(raw):
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			ps.add(path+".url", "want an absolute http or https URL")
		} else if u.User != nil {
			ps.add(path+".url", "no user info in the URL (send credentials in request_headers)")
		}
	}
	if m, set := obj["request_method"]; set {
		s, ok := m.(string)
		if !ok || (!hasLiquid(s) && !webhookMethods[strings.ToUpper(strings.TrimSpace(s))]) {
			ps.add(path+".request_method", "want GET, POST, PUT, PATCH or DELETE")
		}
	}
	if h, set := obj["request_headers"]; set {
		hs, ok := h.(map[string]any)
		if !ok {
			ps.add(path+".request_headers", "want an object of header names to strings")
		}
		for k, v := range hs {
			if _, ok := v.(string); !ok {
				ps.add(path+".request_headers."+k, "want a string")
			}
		}
	}
	if b, set := obj["body"]; set {
		if _, ok := b.(string); !ok {
			ps.add(path+".body", "want a string")
		}
	}
}

func hasLiquid(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "{%") }
