package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
)

const campaignCols = "id, name, status, version, definition, created_at, updated_at"

func scanCampaign(r rowScanner) (*campaigns.Campaign, error) {
	var c campaigns.Campaign
	var def string
	var created, updated int64
	if err := r.Scan(&c.ID, &c.Name, &c.Status, &c.Version, &def, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(def), &c.Definition); err != nil {
		return nil, fmt.Errorf("store: campaign %s definition: %w", c.ID, err)
	}
	c.CreatedAt, c.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &c, nil
}

// CreateCampaign stores a new campaign as its version 1.
func (s *Store) CreateCampaign(ctx context.Context, c *campaigns.Campaign) error {
	def, err := json.Marshal(c.Definition)
	if err != nil {
		return fmt.Errorf("store: campaign definition: %w", err)
	}
	c.Version = 1
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		_, err := t.exec(ctx, "INSERT INTO campaigns ("+campaignCols+") VALUES (?,?,?,?,?,?,?)",
			c.ID, c.Name, c.Status, c.Version, string(def), c.CreatedAt.UnixMilli(), c.UpdatedAt.UnixMilli())
		if isUniqueViolation(err) {
			return fmt.Errorf("store: campaign %q: %w", c.ID, campaigns.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("store: create campaign: %w", err)
		}
		return t.insertVersion(ctx, c.ID, c.Version, def, c.UpdatedAt)
	})
}

func (t *tx) insertVersion(ctx context.Context, id string, version int64, def []byte, at time.Time) error {
	_, err := t.exec(ctx, "INSERT INTO campaign_versions (campaign_id, version, definition, created_at) VALUES (?,?,?,?)",
		id, version, string(def), at.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: campaign version: %w", err)
	}
	return nil
}

// UpdateCampaign replaces a campaign's name and definition as a new version
// (c.Version is set to it). It fails with campaigns.ErrConflict when the
// stored version is not c.Version (someone else changed it).
func (s *Store) UpdateCampaign(ctx context.Context, c *campaigns.Campaign) error {
	def, err := json.Marshal(c.Definition)
	if err != nil {
		return fmt.Errorf("store: campaign definition: %w", err)
	}
	return s.InTx(ctx, func(ptx profiles.Tx) error {
		t := ptx.(*tx)
		res, err := t.exec(ctx, "UPDATE campaigns SET name = ?, definition = ?, version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
			c.Name, string(def), c.UpdatedAt.UnixMilli(), c.ID, c.Version)
		if err != nil {
			return fmt.Errorf("store: update campaign: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.Campaign(ctx, c.ID); err != nil {
				return err
			}
			return fmt.Errorf("store: campaign %s changed since version %d: %w", c.ID, c.Version, campaigns.ErrConflict)
		}
		c.Version++
		return t.insertVersion(ctx, c.ID, c.Version, def, c.UpdatedAt)
	})
}

// SetCampaignStatus changes a campaign's status when it is one of from.
func (s *Store) SetCampaignStatus(ctx context.Context, id, status string, from []string, at time.Time) error {
	q := "UPDATE campaigns SET status = ?, updated_at = ? WHERE id = ?"
	args := []any{status, at.UnixMilli(), id}
	if len(from) > 0 {
		q += " AND status IN (" + inList(len(from)) + ")"
		for _, f := range from {
			args = append(args, f)
		}
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: campaign status: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		c, err := s.Campaign(ctx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("store: campaign %s is %s: %w", id, c.Status, campaigns.ErrConflict)
	}
	return nil
}

// Campaign returns one campaign (campaigns.ErrNotFound when there is none).
func (s *Store) Campaign(ctx context.Context, id string) (*campaigns.Campaign, error) {
	c, err := scanCampaign(s.queryRow(ctx, "SELECT "+campaignCols+" FROM campaigns WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: campaign %q: %w", id, campaigns.ErrNotFound)
	}
	return c, err
}

// CampaignVersion returns the definition of one version of a campaign.
func (s *Store) CampaignVersion(ctx context.Context, id string, version int64) (*campaigns.Definition, error) {
	var def string
	err := s.queryRow(ctx, "SELECT definition FROM campaign_versions WHERE campaign_id = ? AND version = ?", id, version).Scan(&def)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: campaign %q version %d: %w", id, version, campaigns.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: campaign version: %w", err)
	}
	var d campaigns.Definition
	if err := json.Unmarshal([]byte(def), &d); err != nil {
		return nil, fmt.Errorf("store: campaign %s version %d: %w", id, version, err)
	}
	return &d, nil
}

// Campaigns lists campaigns, newest first: limit of them after skipping
// offset (a management list, a few hundred campaigns at most).
func (s *Store) Campaigns(ctx context.Context, limit, offset int) ([]*campaigns.Campaign, error) {
	rows, err := s.query(ctx, "SELECT "+campaignCols+" FROM campaigns ORDER BY created_at DESC, id LIMIT ? OFFSET ?", limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: list campaigns: %w", err)
	}
	return collect(rows, scanCampaign)
}
