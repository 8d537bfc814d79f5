package daemon

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Grafana dashboard in deploy/ reads only metrics Herald defines: every
// herald_* name in its queries (histograms by their _bucket series) is
// registered somewhere in the code, so a renamed metric cannot leave a panel
// silently empty.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../deploy/grafana/herald-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	defined := map[string]bool{}
	nameRe := regexp.MustCompile(`Name:\s*"(herald_[a-z_]+)"`)
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range nameRe.FindAllSubmatch(src, -1) {
			defined[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`herald_[a-z_]+`)
	n := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range used.FindAllString(tg.Expr, -1) {
				n++
				base := strings.TrimSuffix(name, "_bucket")
				if !defined[base] {
					t.Errorf("panel %q queries %s, which Herald does not define", p.Title, name)
				}
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d metric references found: the dashboard or this test is broken", n)
	}
}
