package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// trackBody builds a /users/track body of nAttr attribute objects and nEv events for
// random users out of pop.
func trackBody(rng *rand.Rand, pop, nAttr, nEv int) []byte {
	attrs := make([]map[string]any, nAttr)
	plans := []string{"free", "basic", "pro", "enterprise"}
	now := time.Now().UTC().Format(time.RFC3339)
	for i := range attrs {
		attrs[i] = map[string]any{"external_id": fmt.Sprintf("user-%d", rng.IntN(pop)), "first_name": "Ada",
			"plan": plans[rng.IntN(len(plans))], "visits": map[string]any{"inc": 1}, "last_seen": now, "score": rng.IntN(1000)}
	}
	evs := make([]map[string]any, nEv)
	for i := range evs {
		evs[i] = map[string]any{"external_id": fmt.Sprintf("user-%d", rng.IntN(pop)), "name": "viewed_item", "time": now,
			"properties": map[string]any{"sku": fmt.Sprintf("sku-%d", rng.IntN(100)), "price": 9.99}}
	}
	b, _ := json.Marshal(map[string]any{"attributes": attrs, "events": evs})
	return b
}

// BenchmarkTrack measures /users/track through a real HTTP server on each store;
// b.N counts requests of 75 objects (50 attributes, 25 events).
func BenchmarkTrack(b *testing.B) {
	for _, driver := range drivers {
		b.Run(driver, func(b *testing.B) {
			e := newEnv(b, driver)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(rand.Uint64(), 1))
				for pb.Next() {
					req, _ := http.NewRequest("POST", e.url+"/users/track", bytes.NewReader(trackBody(rng, 10000, 50, 25)))
					req.Header.Set("Authorization", "Bearer "+e.admin)
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 201 {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N*75)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
