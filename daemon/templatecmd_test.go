package daemon

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemplateRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctxFile := writeFile(t, filepath.Join(dir, "context.json"), `{
  "first_name": "Ada",
  "time_zone": "America/New_York",
  "custom_attribute": {"points": 12345, "plan": "gold", "price": 12.50},
  "event_properties": {"sku": "B-1"}
}`)
	tmpl := writeFile(t, filepath.Join(dir, "push.liquid"),
		`Hi {{${first_name} | default: 'there'}}, {{custom_attribute.${points} | number_with_delimiter}} points`+
			`{% if custom_attribute.${plan} == 'gold' %} (gold){% endif %} {{custom_attribute.${price}}} {{event_properties.${sku}}}
{{ 'now' | time_zone: ${time_zone} | date: '%Y-%m-%d %H:%M' }}`)
	code, out, errs := run(t, nil, "template", "render", "--context", ctxFile, "--now", "2026-11-29T09:00:00Z", tmpl)
	want := "Hi Ada, 12,345 points (gold) 12.5 B-1\n2026-11-29 04:00"
	if code != 0 || out != want {
		t.Fatalf("render: exit %d, stdout %q (want %q), stderr %s", code, out, want, errs)
	}

	// without a context, missing values are empty or take their default
	code, out, _ = run(t, nil, "template", "render", tmpl)
	if code != 0 || !strings.HasPrefix(out, "Hi there,  points ") {
		t.Fatalf("render without context: exit %d, %q", code, out)
	}

	abort := writeFile(t, filepath.Join(dir, "abort.liquid"),
		"{% if custom_attribute.${plan} != 'free' %}{% abort_message('not on the free plan') %}{% endif %}Upgrade!")
	code, out, errs = run(t, nil, "template", "render", "--context", ctxFile, abort)
	if code != 3 || out != "" || errs != "aborted: not on the free plan\n" {
		t.Fatalf("abort: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	bad := writeFile(t, filepath.Join(dir, "bad.liquid"), "Hello\n  {{ first_name | shout }}\n{% frobnicate %}")
	code, out, errs = run(t, nil, "template", "render", bad)
	if code != 2 || out != "" || errs != "2:19: unknown filter \"shout\"\n3:1: unknown tag \"frobnicate\"\n" {
		t.Fatalf("syntax errors: exit %d, stdout %q, stderr %q", code, out, errs)
	}

	badCtx := writeFile(t, filepath.Join(dir, "bad.json"), "{\"a\": 1,\n  \"b\": }")
	code, _, errs = run(t, nil, "template", "render", "--context", badCtx, tmpl)
	if code != 1 || !strings.Contains(errs, "bad.json:2:8: invalid character '}'") {
		t.Fatalf("bad context: exit %d, stderr %q", code, errs)
	}
	code, _, errs = run(t, nil, "template", "render", "--now", "tomorrow", tmpl)
	if code != 2 || !strings.Contains(errs, "RFC 3339") {
		t.Fatalf("bad --now: exit %d, stderr %q", code, errs)
	}
}

// Connected content follows templates.connected_content: the loopback
// server is called only when the config allows it, with the named
// credentials read from their password file.
func TestTemplateRenderConnectedContentFromConfig(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "herald" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"offer": {"code": "SAVE10"}}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "offers.pw"), "s3cret\n")
	tmpl := writeFile(t, filepath.Join(dir, "offer.liquid"),
		`{% connected_content `+srv.URL+`/offers :basic_auth offers :save r %}{{ r.offer.code | default: 'none' }}`)
	for _, c := range []struct {
		name, cfg, want string
	}{
		{"allowed", "templates:\n  connected_content:\n    allow_loopback: true\n    basic_auth:\n      - name: offers\n        username: herald\n        password_file: offers.pw\n", "SAVE10"},
		{"not allowed", "templates:\n  connected_content:\n    basic_auth:\n      - name: offers\n        username: herald\n        password_file: offers.pw\n", "none"},
	} {
		cfg := writeFile(t, filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml"), c.cfg)
		code, out, errs := run(t, nil, "template", "render", "-c", cfg, tmpl)
		if code != 0 || out != c.want {
			t.Errorf("%s: exit %d, stdout %q (want %q), stderr %s", c.name, code, out, c.want, errs)
		}
	}
	// a :basic_auth name the config does not define is a syntax error
	code, _, errs := run(t, nil, "template", "render", tmpl)
	if code != 2 || !strings.Contains(errs, "offers") {
		t.Errorf("unknown basic_auth: exit %d, stderr %q", code, errs)
	}
}
