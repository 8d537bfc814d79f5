package scheduler

import (
	"sync"
	"time"
)

// Zones loads IANA zones through LoadZone once each: time.LoadLocation reads
// and parses the zone file on every call, and per-user work (capping days,
// quiet hours, delays) asks for the same few zones over and over. Only zones
// that load are kept, so the cache is bounded by the zone database. Safe for
// concurrent use; the zero value is ready.
type Zones struct {
	m sync.Map // name → *time.Location
}

// Load returns the zone named name, as LoadZone does.
func (z *Zones) Load(name string) (*time.Location, error) {
	if loc, ok := z.m.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := LoadZone(name)
	if err != nil {
		return nil, err
	}
	z.m.Store(name, loc)
	return loc, nil
}
