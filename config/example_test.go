package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// examplePath is the fully commented example shipped at the repository root.
const examplePath = "../herald.example.yaml"

// TestExampleValidates: the example as shipped loads and validates, needs no
// credential file, and sets every key to exactly its default.
func TestExampleValidates(t *testing.T) {
	t.Parallel()
	cfg, err := Load(examplePath, nil)
	if err != nil {
		t.Fatalf("Load:\n%v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate:\n%v", err)
	}
	def := Default()
	for _, path := range EnvKeys() {
		got := fieldByPath(t, reflect.ValueOf(&cfg).Elem(), path).Interface()
		want := fieldByPath(t, reflect.ValueOf(&def).Elem(), path).Interface()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s is %v, but its default is %v", examplePath, path, got, want)
		}
	}
	if len(cfg.Apps) != 0 {
		t.Errorf("%s declares apps %+v; its apps must stay commented out", examplePath, cfg.Apps)
	}
}

// TestExampleListsEveryKey: every key settable from the environment is written in
// the example at its key path, so the example cannot fall out of date when a field
// is added. Each written key carries a comment explaining it.
func TestExampleListsEveryKey(t *testing.T) {
	t.Parallel()
	cfg, err := Load(examplePath, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := EnvKeys()
	names := make([]string, 0, len(keys))
	for name := range keys {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := cfg.lines[keys[name]]; !ok {
			t.Errorf("%s is missing from %s (variable %s)", keys[name], examplePath, name)
		}
	}

	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for path, explained := range explainedKeys(doc.Content[0], "", false) {
		if !explained {
			t.Errorf("%s: %s has no comment explaining it", examplePath, path)
		}
	}
}

// explainedKeys maps each leaf key path of a YAML mapping to whether a comment
// explains it: its own head or line comment, or the comment of the group of keys
// it directly follows (tls_cert_file and tls_key_file share one comment), or, for
// the first keys of a section, the section's comment (requests and window under a
// commented users_track).
func explainedKeys(n *yaml.Node, path string, sectionCommented bool) map[string]bool {
	out := map[string]bool{}
	if n.Kind != yaml.MappingNode {
		return out
	}
	prevExplained, prevEnd := sectionCommented, n.Line-1
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		sub := joinPath(path, k.Value)
		own := k.HeadComment != "" || k.LineComment != "" || v.LineComment != ""
		explained := own || (prevExplained && k.Line == prevEnd+1)
		if v.Kind == yaml.MappingNode {
			for p, ok := range explainedKeys(v, sub, own) {
				out[p] = ok
			}
		} else {
			out[sub] = explained
		}
		prevExplained, prevEnd = explained, lastLine(v)
	}
	return out
}

// lastLine is the last line a node's content reaches.
func lastLine(n *yaml.Node) int {
	if len(n.Content) == 0 {
		return n.Line
	}
	return lastLine(n.Content[len(n.Content)-1])
}

// TestExampleApps: the commented-out apps block is valid once uncommented, holds
// one app per platform, and mentions every app key.
func TestExampleApps(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)

	// the block starts at the line "# apps:" and runs to the next uncommented line
	var block []string
	in := false
	for _, line := range strings.Split(text, "\n") {
		if line == "# apps:" {
			in = true
		}
		if !in {
			continue
		}
		if line != "#" && !strings.HasPrefix(line, "# ") {
			break
		}
		block = append(block, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
	}
	if len(block) == 0 {
		t.Fatalf("%s has no commented-out `# apps:` example block", examplePath)
	}
	cfg, err := Parse([]byte(strings.Join(block, "\n")), examplePath+" (apps example)")
	if err != nil {
		t.Fatalf("the apps example does not decode:\n%v", err)
	}
	platforms := map[string]bool{}
	for _, app := range cfg.Apps {
		platforms[app.Platform] = true
	}
	if len(cfg.Apps) != 3 || !platforms["ios"] || !platforms["android"] || !platforms["web"] {
		t.Errorf("the apps example holds %+v, want one app per platform", cfg.Apps)
	}

	// with its credential files present and an encryption key, it validates
	dir := t.TempDir()
	for _, app := range cfg.Apps {
		var files []string
		if a := app.APNs; a != nil {
			files = append(files, a.KeyFile, a.CertificateFile, a.CertificatePasswordFile)
		}
		if app.FCM != nil {
			files = append(files, app.FCM.ServiceAccountFile)
		}
		if app.WebPush != nil {
			files = append(files, app.WebPush.VAPIDPrivateKeyFile)
		}
		if a := app.SDKAuth; a != nil {
			files = append(files, a.SecretFile, a.PublicKeyFile)
		}
		for _, f := range files {
			if f == "" {
				continue
			}
			p := filepath.Join(dir, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			// long enough for an SDK auth secret
			if err := os.WriteFile(p, []byte("dummy-dummy-dummy-dummy-dummy-dummy"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg.SetDir(dir)
	cfg.Security.EncryptionKey = "1QM9bLajxswIhT9vSDSZWg68b5y86Ntlq22o9+3Q5UA="
	if err := cfg.Validate(); err != nil {
		t.Errorf("the apps example does not validate:\n%v", err)
	}

	// every key of an app, of its credentials and of its sdk_auth is shown
	// (certificate auth and RS256 as comments)
	for _, typ := range []reflect.Type{reflect.TypeOf(App{}), reflect.TypeOf(APNs{}), reflect.TypeOf(FCM{}), reflect.TypeOf(WebPush{}), reflect.TypeOf(SDKAuth{})} {
		for key := range yamlFields(typ) {
			re := regexp.MustCompile(`(?m)^[#\s-]*` + regexp.QuoteMeta(key) + `:`)
			if !re.MatchString(text) {
				t.Errorf("%s does not show the app key %s (%s)", examplePath, key, typ.Name())
			}
		}
	}
}
