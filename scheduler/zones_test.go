package scheduler

import "testing"

func TestZonesCacheLoadedZones(t *testing.T) {
	t.Parallel()
	var z Zones
	a, err := z.Load("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := z.Load("Europe/Berlin"); b != a {
		t.Fatal("a zone loaded twice is not the same location")
	}
	for _, bad := range []string{"", "Local", "Mars/Olympus"} {
		if _, err := z.Load(bad); err == nil {
			t.Errorf("Load(%q) accepted", bad)
		}
	}
}
