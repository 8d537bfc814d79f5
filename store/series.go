package store

import (
	"context"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
)

// msPerDay turns Unix ms into UTC days in SQL (integer division in both
// dialects).
const msPerDay = "86400000"

// EngagementSeries counts a campaign's engagement events by UTC day,
// channel and kind over [from, to): the total and the distinct users. Sends
// (every delivery and bounce is one) are counted per channel and, as
// channel "*", over every channel (distinct users: the day's unique
// recipients).
func (s *Store) EngagementSeries(ctx context.Context, campaignID string, from, to time.Time) ([]campaigns.SeriesCount, error) {
	sent := "kind IN ('" + campaigns.EventDelivery + "', '" + campaigns.EventBounce + "')"
	rows, err := s.query(ctx, `SELECT at / `+msPerDay+`, channel, kind, COUNT(*), COUNT(DISTINCT user_id) FROM engagement
WHERE campaign_id = ? AND at >= ? AND at < ? GROUP BY 1, 2, 3
UNION ALL
SELECT at / `+msPerDay+`, channel, ?, COUNT(*), COUNT(DISTINCT user_id) FROM engagement
WHERE campaign_id = ? AND at >= ? AND at < ? AND `+sent+` GROUP BY 1, 2
UNION ALL
SELECT at / `+msPerDay+`, '*', ?, COUNT(*), COUNT(DISTINCT user_id) FROM engagement
WHERE campaign_id = ? AND at >= ? AND at < ? AND `+sent+` GROUP BY 1
ORDER BY 1, 2, 3`,
		campaignID, from.UnixMilli(), to.UnixMilli(), campaigns.EventSend, campaignID, from.UnixMilli(), to.UnixMilli(),
		campaigns.EventSend, campaignID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: engagement series: %w", err)
	}
	return collect(rows, func(r rowScanner) (campaigns.SeriesCount, error) {
		var c campaigns.SeriesCount
		err := r.Scan(&c.Day, &c.Channel, &c.Kind, &c.Total, &c.Unique)
		return c, err
	})
}

// ConversionSeries counts a campaign's conversions by UTC day over
// [from, to), with their revenue.
func (s *Store) ConversionSeries(ctx context.Context, campaignID string, from, to time.Time) ([]campaigns.SeriesCount, error) {
	rows, err := s.query(ctx, `SELECT at / `+msPerDay+`, COUNT(*), COALESCE(SUM(revenue), 0) FROM conversions
WHERE campaign_id = ? AND at >= ? AND at < ? GROUP BY 1 ORDER BY 1`,
		campaignID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store: conversion series: %w", err)
	}
	return collect(rows, func(r rowScanner) (campaigns.SeriesCount, error) {
		c := campaigns.SeriesCount{Kind: "conversion"}
		err := r.Scan(&c.Day, &c.Total, &c.Revenue)
		return c, err
	})
}

// EngagementRows calls fn with each of a campaign's engagement rows in
// [from, to), through the (campaign_id, at) index.
func (s *Store) EngagementRows(ctx context.Context, campaignID string, from, to time.Time,
	fn func(dispatchID string, userID int64, channel, kind string, atMS int64) error) error {
	rows, err := s.query(ctx, "SELECT dispatch_id, user_id, channel, kind, at FROM engagement WHERE campaign_id = ? AND at >= ? AND at < ?",
		campaignID, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: engagement rows: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d, ch, kind string
		var user, at int64
		if err := rows.Scan(&d, &user, &ch, &kind, &at); err != nil {
			return err
		}
		if err := fn(d, user, ch, kind, at); err != nil {
			return err
		}
	}
	return rows.Err()
}
