package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// apiClient calls Herald's management API with the harness's key.
type apiClient struct {
	base, key string
	http      *http.Client
}

func newAPIClient(base, key string) *apiClient {
	return &apiClient{base: base, key: key, http: &http.Client{Timeout: time.Minute}}
}

// do sends body as JSON and decodes the answer into out; an answer other
// than want (any 2xx when want is 0) is an error quoting the body.
func (c *apiClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if want != 0 && resp.StatusCode != want || want == 0 && resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, truncate(raw, 500))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: unreadable answer (%w): %s", method, path, err, truncate(raw, 500))
	}
	return nil
}

// Liquid of the campaign: the user's first name, and one `if` on a custom
// attribute choosing the body.
const (
	campaignTitle = "Hi {{${first_name}}}"
	campaignBody  = `{% if custom_attribute.${plan} == "pro" %}` + bodyPro + `{% else %}` + bodyOther + `{% endif %}`
)

// createCampaign creates the personalized campaign for every push-enabled
// user and returns its id.
func (c *apiClient) createCampaign(ctx context.Context) (string, error) {
	body := map[string]any{
		"name": "bench fanout " + time.Now().UTC().Format(time.RFC3339),
		"messages": map[string]any{
			"apple_push":   map[string]any{"alert": map[string]any{"title": campaignTitle, "body": campaignBody}},
			"android_push": map[string]any{"title": campaignTitle, "alert": campaignBody},
			"web_push":     map[string]any{"title": campaignTitle, "alert": campaignBody},
		},
		"audience":                     map[string]any{"filter": map[string]any{"push_enabled": map[string]any{}}},
		"recipient_subscription_state": "subscribed",
		"schedule":                     map[string]any{"type": "immediate"},
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := c.do(ctx, http.MethodPost, "/manage/campaigns", body, http.StatusCreated, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

// launch launches a campaign and returns its dispatch id.
func (c *apiClient) launch(ctx context.Context, campaignID string) (string, error) {
	var out struct {
		DispatchID string `json:"dispatch_id"`
	}
	if err := c.do(ctx, http.MethodPost, "/manage/campaigns/"+campaignID+"/launch", nil, 0, &out); err != nil {
		return "", err
	}
	if out.DispatchID == "" {
		return "", fmt.Errorf("launch of campaign %s answered no dispatch_id", campaignID)
	}
	return out.DispatchID, nil
}

// dispatchView is a dispatch as GET /manage/campaigns/{id} lists it.
type dispatchView struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Pages     int    `json:"pages"`
	PagesDone int    `json:"pages_done"`
}

type campaignDispatches struct {
	Dispatches []dispatchView `json:"dispatches"`
}

// dispatch returns one dispatch of a campaign.
func (c *apiClient) dispatch(ctx context.Context, campaignID, dispatchID string) (dispatchView, error) {
	var v campaignDispatches
	if err := c.do(ctx, http.MethodGet, "/manage/campaigns/"+campaignID, nil, http.StatusOK, &v); err != nil {
		return dispatchView{}, err
	}
	for _, d := range v.Dispatches {
		if d.ID == dispatchID {
			return d, nil
		}
	}
	return dispatchView{}, fmt.Errorf("campaign %s does not list dispatch %s", campaignID, dispatchID)
}

// scrapeDeliveries sums herald_deliveries_total by outcome from a /metrics
// page (nil when it cannot be read: the figure is informative only).
func scrapeDeliveries(ctx context.Context, url string) map[string]int64 {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]int64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "herald_deliveries_total{")
		if !ok {
			continue
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		_, outcome, ok := strings.Cut(labels, `outcome="`)
		if !ok {
			continue
		}
		outcome, _, _ = strings.Cut(outcome, `"`)
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			continue
		}
		out[outcome] += int64(v)
	}
	return out
}

// loadAvg is the machine's 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
