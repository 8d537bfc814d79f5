package daemon

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCampaignApplyAndGet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := writeFile(t, filepath.Join(dir, "herald.yaml"), "store:\n  driver: sqlite\n  sqlite:\n    path: h.db\n  auto_migrate: true\n")
	if code, out, errs := run(t, nil, "migrate", "-c", cfg); code != 0 {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	for _, ex := range []string{"lapsed-7-days", "abandoned-cart"} {
		file := filepath.Join("..", "examples", ex+".yaml")
		code, out, errs := run(t, nil, "campaign", "apply", "-c", cfg, "-f", file)
		if code != 0 || out != "created "+ex+" (version 1)\n" {
			t.Fatalf("apply %s: %d %q %s", ex, code, out, errs)
		}
		// the same file again changes nothing
		if code, out, _ := run(t, nil, "campaign", "apply", "-c", cfg, "-f", file); code != 0 || out != "unchanged "+ex+" (version 1)\n" {
			t.Fatalf("apply %s again: %d %q", ex, code, out)
		}
	}
	code, out, errs := run(t, nil, "campaign", "get", "-c", cfg, "lapsed-7-days")
	if code != 0 || !strings.Contains(out, "cron: 0 10 * * *") || !strings.Contains(out, "status: draft") {
		t.Fatalf("get: %d %s %s", code, out, errs)
	}
	// -o may follow the id
	if code, out, errs := run(t, nil, "campaign", "get", "-c", cfg, "lapsed-7-days", "-o", "json"); code != 0 || !strings.Contains(out, `"cron": "0 10 * * *"`) {
		t.Fatalf("get ID -o json: %d %s %s", code, out, errs)
	}
	// what get prints applies back unchanged; an edit makes version 2
	got := writeFile(t, filepath.Join(dir, "got.yaml"), out)
	if code, out, _ := run(t, nil, "campaign", "apply", "-c", cfg, "-f", got); out != "unchanged lapsed-7-days (version 1)\n" {
		t.Fatalf("apply of get's output: %d %q", code, out)
	}
	edited := writeFile(t, filepath.Join(dir, "edited.yaml"), strings.Replace(out, "name: Lapsed 7 days", "name: Lapsed a week", 1))
	if code, out, _ := run(t, nil, "campaign", "apply", "-c", cfg, "-f", edited); out != "updated lapsed-7-days (version 2)\n" {
		t.Fatalf("apply of an edit: %d %q", code, out)
	}
	// mistakes name the file and line
	bad := writeFile(t, filepath.Join(dir, "bad.yaml"), `id: bad
name: Bad
audience:
  filter:
    custom_attribute: {custom_attribute_name: plan, comparison: greater, value: 3}
messages:
  apple_push:
    alert:
      title: "Hi {{ first_name | shout }}"
  email: {subject: x}
`)
	code, _, errs = run(t, nil, "campaign", "apply", "-c", cfg, "-f", bad)
	for _, want := range []string{
		"bad.yaml:5: audience.filter.comparison: unknown comparison \"greater\"",
		"bad.yaml:9: messages.apple_push.alert.title: 1:20: unknown filter \"shout\"",
		"bad.yaml:10: messages.email: Herald has no email channel",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
	if code != 1 {
		t.Errorf("exit %d", code)
	}
}
