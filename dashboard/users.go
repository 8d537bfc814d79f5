package dashboard

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/herald-oss/herald/campaigns"
	"github.com/herald-oss/herald/profiles"
	"github.com/herald-oss/herald/store"
)

// userView is the user lookup page: a query and, when found, the profile.
type userView struct {
	Query    string
	Found    bool
	Profile  *profiles.Profile
	Custom   string // the custom attributes as indented JSON
	Devices  []deviceView
	Activity *store.UserActivity
	Cards    []*campaigns.Card
}

// deviceView is a device with its token shortened for display.
type deviceView struct {
	profiles.Device
	ShortToken string
	State      string // valid, push disabled, invalid: <reason>
}

// userActivityLimit is how many events and messages the lookup shows.
const userActivityLimit = 50

// lookupOrder is how a query is tried: as an external id, a Braze id, an
// email, a device id.
func lookups(q string) []profiles.Lookup {
	out := []profiles.Lookup{{ExternalIDs: []string{q}}, {BrazeID: q}}
	if strings.Contains(q, "@") {
		out = append(out, profiles.Lookup{Email: q})
	}
	return append(out, profiles.Lookup{DeviceID: q})
}

// users is the user lookup: profile, devices and token state, recent
// events, Content Cards and messages received.
func (d *Dashboard) users(w http.ResponseWriter, r *http.Request, s *session) {
	v := userView{Query: strings.TrimSpace(r.URL.Query().Get("q"))}
	status := http.StatusOK
	if v.Query != "" && d.deps.Users != nil {
		if len(v.Query) > 512 {
			http.Error(w, "q: at most 512 characters", http.StatusBadRequest)
			return
		}
		var ids []int64
		for _, l := range lookups(v.Query) {
			found, _, err := d.deps.Users.FindUserIDs(r.Context(), l)
			if err != nil {
				d.fail(w, r, err)
				return
			}
			if len(found) > 0 {
				ids = found[:1]
				break
			}
		}
		if len(ids) == 0 {
			status = http.StatusNotFound
		} else if err := d.loadUser(r, ids[0], &v); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	d.render(w, r, status, "users", s, page{Title: "Users", Nav: "users", Data: v})
}

func (d *Dashboard) loadUser(r *http.Request, id int64, v *userView) error {
	ps, err := d.deps.Users.Profiles(r.Context(), []int64{id})
	if err != nil || len(ps) == 0 {
		return err
	}
	v.Found, v.Profile = true, ps[0]
	custom, _ := json.MarshalIndent(v.Profile.User.Custom, "", "  ")
	v.Custom = string(custom)
	for _, dev := range v.Profile.Devices {
		dv := deviceView{Device: dev, ShortToken: dev.TokenKey, State: "valid"}
		if len(dv.ShortToken) > 24 {
			dv.ShortToken = dv.ShortToken[:12] + "…" + dv.ShortToken[len(dv.ShortToken)-8:]
		}
		switch {
		case !dev.Valid():
			dv.State = "invalid: " + dev.InvalidReason
		case !dev.PushEnabled:
			dv.State = "push disabled"
		}
		v.Devices = append(v.Devices, dv)
	}
	if v.Activity, err = d.deps.Users.UserActivity(r.Context(), id, userActivityLimit); err != nil {
		return err
	}
	v.Cards, err = d.deps.Users.UserCards(r.Context(), id, time.Time{})
	return err
}
