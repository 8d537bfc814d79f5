package profiles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"strings"
)

// maxIdentifiers caps the identifiers of one delete, alias, identify or export request.
const maxIdentifiers = 50

// DeleteRequest is a decoded /users/delete body: one kind of identifier, ≤50.
type DeleteRequest struct {
	ExternalIDs []string `json:"external_ids"`
	Aliases     []Alias  `json:"user_aliases"`
	BrazeIDs    []string `json:"braze_ids"`
}

// DecodeDelete decodes and checks a /users/delete body.
func DecodeDelete(r io.Reader) (*DeleteRequest, error) {
	var req DeleteRequest
	if err := decodeKnown(r, &req); err != nil {
		return nil, err
	}
	for i, b := range req.BrazeIDs {
		req.BrazeIDs[i] = strings.ToLower(b)
	}
	n := 0
	for _, l := range []int{len(req.ExternalIDs), len(req.Aliases), len(req.BrazeIDs)} {
		if l > 0 {
			n++
		}
		if l > maxIdentifiers {
			return nil, requestErr("at most %d identifiers per request", maxIdentifiers)
		}
	}
	if n == 0 {
		return nil, requestErr("give external_ids, user_aliases or braze_ids")
	}
	if n > 1 {
		return nil, requestErr("give only one of external_ids, user_aliases or braze_ids")
	}
	for i, a := range req.Aliases {
		if a.Name == "" || a.Label == "" {
			return nil, requestErr("user_aliases[%d] needs alias_name and alias_label", i)
		}
	}
	return &req, nil
}

// decodeKnown decodes a JSON object into v, rejecting unknown fields (api_key, the
// legacy body credential, is tolerated).
func decodeKnown(r io.Reader, v any) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read body: %w", err) // e.g. the body limit
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil || probe == nil {
		return requestErr("Invalid JSON: the body must be a JSON object")
	}
	if v, err := parseJSON(data, true); err == nil && hasNUL(v) {
		return requestErr("strings must not contain the NUL character (\\u0000)")
	}
	delete(probe, "api_key")
	delete(probe, "app_group_id")
	clean, _ := json.Marshal(probe)
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return requestErr("Invalid request: %v", err)
	}
	return nil
}

// Delete deletes users and everything they own; it returns how many existed.
func (s *Service) Delete(ctx context.Context, req *DeleteRequest) (int, error) {
	var ens []Ensure
	for _, e := range req.ExternalIDs {
		ens = append(ens, Ensure{ID: Identifier{ExternalID: e}})
	}
	for _, b := range req.BrazeIDs {
		ens = append(ens, Ensure{ID: Identifier{BrazeID: b}})
	}
	for i := range req.Aliases {
		ens = append(ens, Ensure{ID: Identifier{Alias: &req.Aliases[i]}})
	}
	var n int
	err := s.store.InTx(ctx, func(tx Tx) error {
		ids, err := tx.EnsureUsers(ctx, ens)
		if err != nil {
			return err
		}
		n, err = tx.DeleteUsers(ctx, ids)
		return err
	})
	return n, err
}

// AliasNewItem is one entry of /users/alias/new.
type AliasNewItem struct {
	ExternalID string `json:"external_id"`
	AliasName  string `json:"alias_name"`
	AliasLabel string `json:"alias_label"`
}

// DecodeAliasNew decodes a /users/alias/new body.
func DecodeAliasNew(r io.Reader) ([]AliasNewItem, error) {
	var req struct {
		Aliases []AliasNewItem `json:"user_aliases"`
	}
	if err := decodeKnown(r, &req); err != nil {
		return nil, err
	}
	if len(req.Aliases) == 0 {
		return nil, requestErr("user_aliases is required")
	}
	if len(req.Aliases) > maxIdentifiers {
		return nil, requestErr("at most %d user_aliases per request", maxIdentifiers)
	}
	return req.Aliases, nil
}

// AliasNew adds aliases: to the user with the external id when one is given,
// otherwise as a new alias-only user. It returns how many were processed.
func (s *Service) AliasNew(ctx context.Context, items []AliasNewItem) (int, []ObjectError, error) {
	var processed int
	var errs []ObjectError
	err := s.store.InTx(ctx, func(tx Tx) error {
		processed, errs = 0, nil
		fail := func(i int, format string, args ...any) {
			errs = append(errs, ObjectError{Type: fmt.Sprintf(format, args...), InputArray: "user_aliases", Index: i})
		}
		for i, it := range items {
			if it.AliasName == "" || it.AliasLabel == "" {
				fail(i, "alias_name and alias_label are required")
				continue
			}
			a := Alias{Name: it.AliasName, Label: it.AliasLabel}
			owner, err := tx.UserByAlias(ctx, a)
			if err != nil {
				return err
			}
			if it.ExternalID == "" {
				if owner == 0 {
					if _, err := tx.EnsureUsers(ctx, []Ensure{{ID: Identifier{Alias: &a}, Create: true, New: s.newUser("", &a)}}); err != nil {
						return err
					}
				}
				processed++
				continue
			}
			uid, err := tx.UserByExternalID(ctx, it.ExternalID)
			if err != nil {
				return err
			}
			switch {
			case uid == 0:
				fail(i, "external_id %q not found", it.ExternalID)
			case owner == uid:
				processed++
			case owner != 0:
				fail(i, "alias %s/%s already belongs to another user", a.Label, a.Name)
			default:
				if err := tx.AddAlias(ctx, uid, a); err != nil {
					if errors.Is(err, ErrConflict) {
						fail(i, "alias %s/%s already belongs to another user", a.Label, a.Name)
						continue
					}
					return err
				}
				processed++
			}
		}
		return nil
	})
	return processed, errs, err
}

func (s *Service) newUser(externalID string, a *Alias) NewUser {
	return NewUser{ExternalID: externalID, Alias: a, RandomBucket: mrand.IntN(10000), CreatedAt: s.now().UTC()}
}

// IdentifyItem is one entry of /users/identify.
type IdentifyItem struct {
	ExternalID string `json:"external_id"`
	Alias      Alias  `json:"user_alias"`
}

// DecodeIdentify decodes a /users/identify body.
func DecodeIdentify(r io.Reader) ([]IdentifyItem, error) {
	var req struct {
		Items []IdentifyItem `json:"aliases_to_identify"`
	}
	if err := decodeKnown(r, &req); err != nil {
		return nil, err
	}
	if len(req.Items) == 0 {
		return nil, requestErr("aliases_to_identify is required")
	}
	if len(req.Items) > maxIdentifiers {
		return nil, requestErr("at most %d aliases_to_identify per request", maxIdentifiers)
	}
	return req.Items, nil
}

// Identify identifies alias-only profiles: when no user has the external id, the
// alias-only profile takes it; otherwise the alias-only profile is merged into the
// identified one (attributes it lacks, events, purchases, devices, sessions, the
// alias) and deleted.
func (s *Service) Identify(ctx context.Context, items []IdentifyItem) (int, []ObjectError, error) {
	var processed int
	var errs []ObjectError
	err := s.store.InTx(ctx, func(tx Tx) error {
		processed, errs = 0, nil
		fail := func(i int, format string, args ...any) {
			errs = append(errs, ObjectError{Type: fmt.Sprintf(format, args...), InputArray: "aliases_to_identify", Index: i})
		}
		for i, it := range items {
			if it.ExternalID == "" || it.Alias.Name == "" || it.Alias.Label == "" {
				fail(i, "external_id and user_alias {alias_name, alias_label} are required")
				continue
			}
			src, err := tx.UserByAlias(ctx, it.Alias)
			if err != nil {
				return err
			}
			if src == 0 {
				fail(i, "alias %s/%s not found", it.Alias.Label, it.Alias.Name)
				continue
			}
			dst, err := tx.UserByExternalID(ctx, it.ExternalID)
			if err != nil {
				return err
			}
			if dst == src {
				processed++
				continue
			}
			users, err := tx.LockUsers(ctx, []int64{src, dst})
			if err != nil {
				return err
			}
			// what was resolved before the locks may have changed meanwhile
			from := users[src]
			if from == nil || (dst != 0 && users[dst] == nil) {
				return ErrRetry
			}
			if owner, err := tx.UserByAlias(ctx, it.Alias); err != nil {
				return err
			} else if owner != src {
				return ErrRetry
			}
			if from.ExternalID != "" {
				fail(i, "alias %s/%s belongs to an identified user", it.Alias.Label, it.Alias.Name)
				continue
			}
			if dst == 0 {
				if err := tx.SetExternalID(ctx, src, it.ExternalID); errors.Is(err, ErrConflict) {
					return ErrRetry // the external id was taken meanwhile: merge instead
				} else if err != nil {
					return err
				}
				processed++
				continue
			}
			into := users[dst]
			mergeUser(into, from)
			into.UpdatedAt = s.now().UTC()
			if err := tx.MoveUserData(ctx, src, dst); err != nil {
				return err
			}
			if err := tx.SaveUsers(ctx, []*User{into}); err != nil {
				return err
			}
			if _, err := tx.DeleteUsers(ctx, []int64{src}); err != nil {
				return err
			}
			processed++
		}
		return nil
	})
	return processed, errs, err
}

// mergeUser copies into `into` what it lacks from `from`, as Braze merges an
// anonymous profile into an identified one: the identified profile's values win.
func mergeUser(into, from *User) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	d, s := &into.Standard, &from.Standard
	fill(&d.FirstName, s.FirstName)
	fill(&d.LastName, s.LastName)
	fill(&d.Email, s.Email)
	fill(&d.Phone, s.Phone)
	fill(&d.Country, s.Country)
	fill(&d.HomeCity, s.HomeCity)
	fill(&d.Language, s.Language)
	fill(&d.TimeZone, s.TimeZone)
	fill(&d.DOB, s.DOB)
	fill(&d.Gender, s.Gender)
	if into.Custom == nil {
		into.Custom = Custom{}
	}
	for k, v := range from.Custom {
		if _, ok := into.Custom[k]; !ok {
			into.Custom[k] = v
		}
	}
	into.TotalRevenue += from.TotalRevenue
	if !from.FirstSessionAt.IsZero() && (into.FirstSessionAt.IsZero() || from.FirstSessionAt.Before(into.FirstSessionAt)) {
		into.FirstSessionAt = from.FirstSessionAt
	}
	if from.LastSessionAt.After(into.LastSessionAt) {
		into.LastSessionAt = from.LastSessionAt
	}
}
