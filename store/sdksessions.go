package store

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// AddSessions implements profiles.SDKTx: session starts recorded inside the
// caller's transaction, summed per user and app, per user and UTC day and
// per user first, so each row is written once: first and last use, session
// count and the app version of the latest session that has one (kept when
// an older session arrives late), the day counts, and the user's first and
// last session times.
func (t *tx) AddSessions(ctx context.Context, sessions []profiles.Session) error {
	if len(sessions) == 0 {
		return nil
	}
	type usage struct {
		first, last, versionAt time.Time
		n                      int64
		version                string
	}
	type appKey struct {
		user int64
		app  string
	}
	apps := map[appKey]*usage{}
	days := map[[2]int64]int64{}
	users := map[int64]*usage{}
	widen := func(u *usage, at time.Time) {
		if u.first.IsZero() || at.Before(u.first) {
			u.first = at
		}
		if at.After(u.last) {
			u.last = at
		}
		u.n++
	}
	for _, ss := range sessions {
		k := appKey{ss.UserID, ss.AppID}
		if apps[k] == nil {
			apps[k] = &usage{}
		}
		a := apps[k]
		widen(a, ss.Time)
		if ss.AppVersion != "" && !ss.Time.Before(a.versionAt) {
			a.version, a.versionAt = ss.AppVersion, ss.Time
		}
		days[[2]int64{ss.UserID, day(ss.Time)}]++
		if users[ss.UserID] == nil {
			users[ss.UserID] = &usage{}
		}
		widen(users[ss.UserID], ss.Time)
	}
	appKeys := make([]appKey, 0, len(apps))
	for k := range apps {
		appKeys = append(appKeys, k)
	}
	sort.Slice(appKeys, func(i, j int) bool {
		if appKeys[i].user != appKeys[j].user {
			return appKeys[i].user < appKeys[j].user
		}
		return appKeys[i].app < appKeys[j].app
	})
	least, greatest := t.s.dialect.least(), t.s.dialect.greatest()
	for _, k := range appKeys {
		a := apps[k]
		if _, err := t.exec(ctx, `INSERT INTO user_apps (user_id, app_id, first_used, last_used, sessions, app_version) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (user_id, app_id) DO UPDATE SET first_used = `+least+`(user_apps.first_used, excluded.first_used),
last_used = `+greatest+`(user_apps.last_used, excluded.last_used), sessions = user_apps.sessions + excluded.sessions,
app_version = CASE WHEN excluded.app_version <> '' AND (? >= user_apps.last_used OR user_apps.app_version = '')
  THEN excluded.app_version ELSE user_apps.app_version END`,
			k.user, k.app, a.first.UnixMilli(), a.last.UnixMilli(), a.n, a.version, a.versionAt.UnixMilli()); err != nil {
			return fmt.Errorf("store: user_apps: %w", err)
		}
	}
	dayKeys := make([][2]int64, 0, len(days))
	for k := range days {
		dayKeys = append(dayKeys, k)
	}
	sort.Slice(dayKeys, func(i, j int) bool {
		return dayKeys[i][0] < dayKeys[j][0] || dayKeys[i][0] == dayKeys[j][0] && dayKeys[i][1] < dayKeys[j][1]
	})
	args := make([]any, 0, 3*len(dayKeys))
	for _, k := range dayKeys {
		args = append(args, k[0], k[1], days[k])
	}
	if _, err := t.exec(ctx, `INSERT INTO user_session_days (user_id, day, sessions) VALUES `+placeholders(len(dayKeys), t.s.cols("", "", ""))+`
ON CONFLICT (user_id, day) DO UPDATE SET sessions = user_session_days.sessions + excluded.sessions`, args...); err != nil {
		return fmt.Errorf("store: user_session_days: %w", err)
	}
	userIDs := make([]int64, 0, len(users))
	for id := range users {
		userIDs = append(userIDs, id)
	}
	sort.Slice(userIDs, func(i, j int) bool { return userIDs[i] < userIDs[j] })
	for _, id := range userIDs {
		u := users[id]
		first, last := u.first.UnixMilli(), u.last.UnixMilli()
		if _, err := t.exec(ctx, `UPDATE users SET first_session_at = `+least+`(COALESCE(first_session_at, ?), ?),
last_session_at = `+greatest+`(COALESCE(last_session_at, ?), ?), version = version + 1 WHERE id = ?`,
			first, first, last, last, id); err != nil {
			return fmt.Errorf("store: users sessions: %w", err)
		}
	}
	return nil
}
