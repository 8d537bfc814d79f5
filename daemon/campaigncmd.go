package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/herald-oss/herald/audiences"
	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/segments"
	"github.com/herald-oss/herald/templates"
)

// campaignCmd runs herald campaign apply|get.
func (c *cli) campaignCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || (args[0] != "apply" && args[0] != "get") {
		return usageErr("usage: herald campaign apply -c FILE -f CAMPAIGN.yaml | herald campaign get -c FILE ID [-o yaml|json]")
	}
	sub, args := args[0], args[1:]
	fs := c.flags("campaign " + sub)
	file := fs.String("c", "", "config file")
	in := fs.String("f", "", "campaign file (apply)")
	output := fs.String("o", "yaml", "output format: yaml or json (get)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var id string
	if sub == "get" && fs.NArg() > 0 { // flags may also follow the id
		id = fs.Arg(0)
		if err := parse(fs, fs.Args()[1:]); err != nil {
			return err
		}
	}
	switch {
	case sub == "apply" && (*in == "" || fs.NArg() != 0):
		return usageErr("usage: herald campaign apply -c FILE -f CAMPAIGN.yaml")
	case sub == "get" && (id == "" || fs.NArg() != 0):
		return usageErr("usage: herald campaign get -c FILE ID [-o yaml|json]")
	case *output != "yaml" && *output != "json":
		return usageErr("-o: want yaml or json, got %q", *output)
	}
	cfg, st, err := c.storeOnly(ctx, *file)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := newTemplateEngine(cfg, newLogger(cfg.Log, c.stderr, c.env.Map), nil, templates.Options{})
	if err != nil {
		return err
	}
	segs := audiences.NewService(st, audiences.Options{})
	resolve := func(ctx context.Context, id string) (*segments.Filter, error) { return segs.Resolver()(ctx, id) }
	svc := campaigns.NewService(st, nil, eng, resolve, nil)
	if sub == "get" {
		camp, err := svc.Get(ctx, id)
		if err != nil {
			return err
		}
		return writeCampaign(c, camp, *output)
	}
	return c.applyCampaign(ctx, svc, *in)
}

// readOnlyKeys are what `campaign get` prints but apply ignores.
var readOnlyKeys = []string{"status", "version", "created_at", "updated_at"}

// applyCampaign creates or updates the campaign a YAML (or JSON) file declares.
func (c *cli) applyCampaign(ctx context.Context, svc *campaigns.Service, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var m map[string]any
	if err := doc.Decode(&m); err != nil || m == nil {
		return fmt.Errorf("%s:1: want a mapping of the campaign's fields", path)
	}
	id, _ := m["id"].(string)
	if id == "" {
		return fmt.Errorf("%s:1: id: required (it names the campaign, so applying the file again updates it)", path)
	}
	delete(m, "id")
	for _, k := range readOnlyKeys {
		delete(m, k)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	input, err := campaigns.DecodeInput(bytes.NewReader(body))
	if err == nil {
		var camp *campaigns.Campaign
		var res campaigns.ApplyResult
		camp, res, err = svc.Apply(ctx, id, input)
		if err == nil {
			fmt.Fprintf(c.stdout, "%s %s (version %d)\n", res, camp.ID, camp.Version)
			return nil
		}
	}
	var verr *campaigns.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	lines := make([]string, len(verr.Problems))
	for i, p := range verr.Problems {
		lines[i] = fmt.Sprintf("%s:%d: %s: %s", path, lineOf(&doc, p.Field), p.Field, p.Reason)
	}
	return errors.New(strings.Join(lines, "\n"))
}

var pathStep = regexp.MustCompile(`^([^\[]*)((?:\[\d+\])*)$`)

// lineOf finds the line of a field path ("messages.apple_push.alert",
// "audience.filter.AND[0].comparison") in a YAML document; the deepest node
// found when the path goes further, 1 when none.
func lineOf(doc *yaml.Node, path string) int {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, part := range strings.Split(path, ".") {
		sm := pathStep.FindStringSubmatch(part)
		if sm == nil {
			return line
		}
		if sm[1] != "" {
			next := mapValue(n, sm[1])
			if next == nil {
				return line
			}
			n, line = next, next.Line
		}
		for _, idx := range regexp.MustCompile(`\d+`).FindAllString(sm[2], -1) {
			i, _ := strconv.Atoi(idx)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line
			}
			n = n.Content[i]
			line = n.Line
		}
	}
	return line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// writeCampaign prints a campaign as apply reads it (plus its read-only
// fields).
func writeCampaign(c *cli, camp *campaigns.Campaign, format string) error {
	def, err := json.Marshal(camp.Definition)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(def, &m); err != nil {
		return err
	}
	m["id"], m["name"], m["status"], m["version"] = camp.ID, camp.Name, camp.Status, camp.Version
	m["created_at"], m["updated_at"] = camp.CreatedAt, camp.UpdatedAt
	if format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(m)
	}
	enc := yaml.NewEncoder(c.stdout)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return err
	}
	return enc.Close()
}
