package campaigns_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// A page loads only what its filter reads; filters on event history (all-time
// summaries and recent day rollups) still decide the audience at send time.
func TestSendTimeFilterOnEventHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, openSQLite(t))
	ids := usersWithDevices(t, e, "hist", 3, "")
	now := time.Now().UTC()
	e.track(t, fmt.Sprintf(`{"events":[{"external_id":"hist0","name":"browse","time":%q},{"external_id":"hist1","name":"browse","time":%q}]}`,
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(-20*24*time.Hour).Format(time.RFC3339)))
	p := rulesPipeline(t, e, campaigns.PipelineOptions{})
	for name, filter := range map[string]string{
		"last did": `{"custom_event_last_did":{"event_name":"browse","comparison":"less_than_x_days_ago","value":3}}`,
		"count":    `{"custom_event":{"event_name":"browse","comparison":"more_than","count":0,"days":7}}`,
	} {
		spec := campaigns.Spec{Filter: json.RawMessage(filter)}
		counts, err := deliverCounts(t, e, p, pageFor(t, e.st, "hist-"+name, "c-hist", spec, ids, now))
		if err != nil || counts["delivered"] != 1 || counts["aborted:user_not_in_segment"] != 2 {
			t.Errorf("%s: %v %v, want hist0 only", name, counts, err)
		}
	}
}
