package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one configuration problem: the key path it concerns, the file and line
// where that key was written (when it came from a file), and the reason.
type Problem struct {
	Path   string
	File   string
	Line   int
	Reason string
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Load builds a Config: defaults, then the YAML file at path (if path is not empty),
// then HERALD_* overrides from env (os.Environ() form). It returns every decoding
// problem joined; it does not call Validate.
func Load(path string, env []string) (Config, error) {
	cfg := Default()
	var errs []error
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return cfg, fmt.Errorf("config path: %w", err)
		}
		cfg.dir = filepath.Dir(abs)
		cfg.file = path
		errs = append(errs, decodeYAML(data, path, &cfg)...)
	} else if wd, err := os.Getwd(); err == nil {
		cfg.dir = wd
	}
	errs = append(errs, applyEnv(env, &cfg)...)
	return cfg, errors.Join(errs...)
}

// Parse decodes YAML bytes on top of the defaults; name is used in problems.
func Parse(data []byte, name string) (Config, error) {
	cfg := Default()
	cfg.file = name
	errs := decodeYAML(data, name, &cfg)
	return cfg, errors.Join(errs...)
}

func decodeYAML(data []byte, file string, cfg *Config) []error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{&Problem{File: file, Reason: err.Error()}}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	d := &decoder{file: file, lines: map[string]int{}}
	d.node(doc.Content[0], reflect.ValueOf(cfg).Elem(), "")
	cfg.lines = d.lines
	return d.errs
}

type decoder struct {
	file  string
	errs  []error
	lines map[string]int
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &Problem{Path: path, File: d.file, Line: n.Line, Reason: fmt.Sprintf(format, args...)})
}

var durationType = reflect.TypeOf(time.Duration(0))

// node decodes n into v strictly, reporting unknown keys and type errors with their path.
func (d *decoder) node(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if _, ok := d.lines[path]; !ok && path != "" {
		d.lines[path] = n.Line // a list item; mapping entries record their key's line
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value keeps the default
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.node(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, path, "expected a mapping, got %s", kindName(n))
			return
		}
		fields := yamlFields(v.Type())
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			key := k.Value
			sub := joinPath(path, key)
			if seen[key] {
				d.fail(k, sub, "duplicate key")
				continue
			}
			seen[key] = true
			idx, ok := fields[key]
			if !ok {
				d.fail(k, sub, "unknown key")
				continue
			}
			d.lines[sub] = k.Line
			d.node(val, v.Field(idx), sub)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			if v.Type().Elem().Kind() == reflect.String && n.Kind == yaml.ScalarNode {
				v.Set(reflect.ValueOf(splitList(n.Value)))
				return
			}
			d.fail(n, path, "expected a list, got %s", kindName(n))
			return
		}
		if len(n.Content) == 0 {
			v.Set(reflect.Zero(v.Type())) // an empty list is the same as none
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.node(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "expected a single value, got %s", kindName(n))
			return
		}
		if err := setScalar(v, n.Value); err != nil {
			d.fail(n, path, "%v", err)
		}
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// yamlFields maps yaml key names to struct field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = i
	}
	return m
}

// setScalar parses s into v according to v's type.
func setScalar(v reflect.Value, s string) error {
	if v.Type() == durationType {
		dur, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid duration %q (use e.g. 500ms, 30s, 5m, 1h)", s)
		}
		v.SetInt(int64(dur))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", s)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		v.SetInt(i)
	case reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.String {
			v.Set(reflect.ValueOf(splitList(s)))
			return nil
		}
		return fmt.Errorf("cannot be set from a single value")
	default:
		return fmt.Errorf("unsupported field type %s", v.Type())
	}
	return nil
}

// EnvPrefix starts every environment override.
const EnvPrefix = "HERALD_"

// envOnly lists HERALD_* variables that are read by commands, not config fields.
var envOnly = map[string]bool{"HERALD_CONFIG": true, "HERALD_DEV_API_KEY": true}

// EnvKeys returns every environment variable name that overrides a config field,
// mapped to its key path (HERALD_API_ADDR -> api.addr). Lists and apps are not
// settable from the environment.
func EnvKeys() map[string]string {
	out := map[string]string{}
	walkEnv(reflect.TypeOf(Config{}), "", func(path string, _ []int) {
		out[EnvPrefix+strings.ToUpper(strings.ReplaceAll(path, ".", "_"))] = path
	}, nil)
	return out
}

func walkEnv(t reflect.Type, path string, fn func(path string, index []int), index []int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		sub := joinPath(path, name)
		idx := append(append([]int(nil), index...), i)
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != durationType:
			walkEnv(ft, sub, fn, idx)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() != reflect.String:
			// lists of structs (apps) are file-only
		case ft.Kind() == reflect.Pointer:
		default:
			fn(sub, idx)
		}
	}
}

func applyEnv(env []string, cfg *Config) []error {
	byName := map[string][]int{}
	paths := map[string]string{}
	walkEnv(reflect.TypeOf(Config{}), "", func(path string, index []int) {
		name := EnvPrefix + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
		byName[name] = index
		paths[name] = path
	}, nil)
	var errs []error
	root := reflect.ValueOf(cfg).Elem()
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		idx, ok := byName[name]
		if !ok {
			continue
		}
		if err := setScalar(root.FieldByIndex(idx), val); err != nil {
			errs = append(errs, &Problem{Path: paths[name], File: "$" + name, Reason: err.Error()})
			continue
		}
		if cfg.env == nil {
			cfg.env = map[string]string{}
		}
		cfg.env[paths[name]] = name
	}
	return errs
}

// UnknownEnv returns the HERALD_* variables in env that match no config field and
// no command option; `herald config check` reports them as warnings.
func UnknownEnv(env []string) []string {
	known := EnvKeys()
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) && known[name] == "" && !envOnly[name] && !strings.HasPrefix(name, "HERALD_TEST_") {
			out = append(out, name)
		}
	}
	return out
}
