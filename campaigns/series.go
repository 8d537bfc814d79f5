package campaigns

import (
	"context"
	"time"
)

// SeriesCount is one day's count of one kind of engagement on one channel.
type SeriesCount struct {
	Day     int64 // UTC days since the Unix epoch
	Channel string
	Kind    string
	Total   int64
	Unique  int64   // distinct users
	Revenue float64 // conversions
}

// SeriesDay is one UTC day of a campaign's data series: per channel, the
// counts by kind (and "unique_"+kind for distinct users), and the day's
// conversions and revenue. For a campaign with A/B variants, Variants holds
// the same counts (totals only) per variant, then channel (ControlGroup
// for the control group; "" for what no variant holds, such as in-app
// messages).
type SeriesDay struct {
	Day         time.Time
	Channels    map[string]map[string]int64
	Variants    map[string]map[string]map[string]int64
	Conversions int64
	Revenue     float64
}

// maxSeriesDays is Braze's limit on a data series' length.
const maxSeriesDays = 100

// DataSeries returns a campaign's daily series for the length UTC days
// ending with the day of endingAt (every day present, zero or not).
func (s *Service) DataSeries(ctx context.Context, campaignID string, length int, endingAt time.Time) ([]SeriesDay, error) {
	c, err := s.st.Campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	length = min(max(length, 1), maxSeriesDays)
	end := endingAt.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	start := end.Add(-time.Duration(length) * 24 * time.Hour)
	eng, err := s.st.EngagementSeries(ctx, campaignID, start, end)
	if err != nil {
		return nil, err
	}
	conv, err := s.st.ConversionSeries(ctx, campaignID, start, end)
	if err != nil {
		return nil, err
	}
	days := make([]SeriesDay, length)
	first := start.Unix() / 86400
	for i := range days {
		days[i] = SeriesDay{Day: start.Add(time.Duration(i) * 24 * time.Hour), Channels: map[string]map[string]int64{}}
	}
	for _, c := range eng {
		d := &days[c.Day-first]
		if d.Channels[c.Channel] == nil {
			d.Channels[c.Channel] = map[string]int64{}
		}
		d.Channels[c.Channel][c.Kind] += c.Total
		d.Channels[c.Channel]["unique_"+c.Kind] += c.Unique
	}
	for _, c := range conv {
		d := &days[c.Day-first]
		d.Conversions += c.Total
		d.Revenue += c.Revenue
	}
	if len(c.Definition.Variants) > 0 {
		if err := s.variantSeries(ctx, campaignID, start, end, days); err != nil {
			return nil, err
		}
	}
	return days, nil
}

// variantSeries counts a campaign's engagement rows per day, variant,
// channel and kind into days (a delivery or a bounce is also a send). A
// row's variant is its user's in the row's dispatch (VariantOf).
func (s *Service) variantSeries(ctx context.Context, campaignID string, start, end time.Time, days []SeriesDay) error {
	ds, err := s.st.CampaignDispatches(ctx, campaignID)
	if err != nil {
		return err
	}
	byID := make(map[string]*Dispatch, len(ds))
	for _, d := range ds {
		byID[d.ID] = d
	}
	for i := range days {
		days[i].Variants = map[string]map[string]map[string]int64{}
	}
	first := start.Unix() / 86400
	return s.st.EngagementRows(ctx, campaignID, start, end, func(dispatchID string, userID int64, channel, kind string, atMS int64) error {
		i := atMS/86400000 - first
		if i < 0 || i >= int64(len(days)) {
			return nil
		}
		v := ""
		if d := byID[dispatchID]; d != nil {
			v = VariantOf(d, userID)
		}
		vs := days[i].Variants
		if vs[v] == nil {
			vs[v] = map[string]map[string]int64{}
		}
		if vs[v][channel] == nil {
			vs[v][channel] = map[string]int64{}
		}
		vs[v][channel][kind]++
		if kind == EventDelivery || kind == EventBounce {
			vs[v][channel][EventSend]++
		}
		return nil
	})
}
