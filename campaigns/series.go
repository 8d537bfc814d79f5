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
// conversions and revenue.
type SeriesDay struct {
	Day         time.Time
	Channels    map[string]map[string]int64
	Conversions int64
	Revenue     float64
}

// maxSeriesDays is Braze's limit on a data series' length.
const maxSeriesDays = 100

// DataSeries returns a campaign's daily series for the length UTC days
// ending with the day of endingAt (every day present, zero or not).
func (s *Service) DataSeries(ctx context.Context, campaignID string, length int, endingAt time.Time) ([]SeriesDay, error) {
	if _, err := s.st.Campaign(ctx, campaignID); err != nil {
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
	return days, nil
}
