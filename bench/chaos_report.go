package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the bench's SQLite store
)

// chaosResult is a chaos run's report.
type chaosResult struct {
	runSetup
	// Delivery is the config's delivery section.
	Delivery map[string]any `json:"delivery"`
	Fault    string         `json:"fault,omitempty"`
	// FaultAtS is when the fault struck, from the launch.
	FaultAtS float64 `json:"fault_at_s,omitempty"`
	// Stormed are the attempts the fakes refused in a storm.
	Stormed int64 `json:"stormed,omitempty"`
	// Lost and Duplicates are the verdict (see phaseResult).
	Lost       int `json:"lost"`
	Duplicates int `json:"duplicates"`
	// DurationS runs from the launch to the dispatch seen done.
	DurationS float64      `json:"duration_s"`
	Herald    *phaseResult `json:"herald"`
	// Dead is the check of the unregistered tokens (dead-tokens).
	Dead     *deadCheck `json:"dead,omitempty"`
	Problems []string   `json:"problems,omitempty"`
	HostCPUs int        `json:"host_cpus"`
	Date     string     `json:"date"`
}

// deadCheck is what became of the unregistered tokens: every one must end
// invalid in the store after exactly one attempt, and no live token may.
type deadCheck struct {
	Tokens int `json:"tokens"`
	// Pruned are dead tokens the store marks invalid; LivePruned live ones.
	Pruned     int `json:"pruned"`
	LivePruned int `json:"live_pruned"`
	// Attempts are the fakes' send attempts on dead tokens; Retried the dead
	// tokens tried more than once, Unattempted those never tried.
	Attempts    int `json:"attempts"`
	Retried     int `json:"retried"`
	Unattempted int `json:"unattempted"`
}

func (d *deadCheck) ok() bool {
	return d.Pruned == d.Tokens && d.LivePruned == 0 && d.Retried == 0 && d.Unattempted == 0 && d.Attempts == d.Tokens
}

// ok reports whether the run passed: every live device got its message once
// (as the device sees it), nothing went elsewhere, the dispatch finished, and
// the dead tokens were pruned after one attempt each.
func (r *chaosResult) ok() bool {
	return r.Herald.correct() && !strings.Contains(r.Herald.DispatchStatus, "timed out") && r.Herald.DispatchStatus == "done" &&
		len(r.Problems) == 0 && (r.Dead == nil || r.Dead.ok())
}

func (r *chaosResult) rows() []row {
	rows := []row{
		{"scenario", r.Scenario},
		{"store", r.Store},
		{"workers", strconv.Itoa(r.Workers)},
	}
	rows = append(rows, r.Redis.rows()...)
	rows = append(rows,
		row{"devices", fmt.Sprintf("%d (%s), %.0f%% dead", r.Devices, r.Mix, r.DeadPct)},
		row{"delivery config", fmt.Sprintf("lease %v, reconcile_after %v", r.Delivery["lease"], r.Delivery["reconcile_after"])},
	)
	if r.Fault != "" {
		rows = append(rows, row{"fault", fmt.Sprintf("%s, %s s after the launch", r.Fault, num(r.FaultAtS))})
	}
	if r.Stormed > 0 {
		rows = append(rows, row{"storm refusals", strconv.FormatInt(r.Stormed, 10)})
	}
	h := r.Herald
	rows = append(rows,
		row{"dispatch", fmt.Sprintf("%s %s, pages %d/%d, launch → done %s s", h.DispatchID, h.DispatchStatus, h.PagesDone, h.Pages, num(r.DurationS))},
		row{"accepted", fmt.Sprintf("%d (%s), last %s s after the launch", h.Accepted, counts(h.AcceptedByChannel), num(h.ElapsedS))},
		row{"provider requests", fmt.Sprintf("%d (%d not accepted)", h.ProviderRequests, h.Rejected)},
		row{"correctness", fmt.Sprintf("lost=%d duplicates=%d resends=%d wrong_content=%d dead_accepted=%d unknown=%d",
			h.Lost, h.Duplicates, h.Resends, h.WrongContent, h.DeadAccepted, h.Unknown)},
	)
	if h.FirstWrongContent != "" {
		rows = append(rows, row{"first wrong content", h.FirstWrongContent})
	}
	if d := r.Dead; d != nil {
		rows = append(rows, row{"dead tokens", fmt.Sprintf("%d: %d pruned, %d attempts (%d retried, %d never tried), %d live tokens pruned",
			d.Tokens, d.Pruned, d.Attempts, d.Retried, d.Unattempted, d.LivePruned)})
	}
	for _, p := range r.Problems {
		rows = append(rows, row{"problem", p})
	}
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	return append(rows,
		row{"host CPUs", strconv.Itoa(r.HostCPUs)},
		row{"date", r.Date},
		row{"verdict", verdict},
	)
}

// checkDeadTokens reads from the store which devices are marked invalid and
// compares with the audience's dead devices and the fakes' attempts on them.
func checkDeadTokens(ctx context.Context, e *env, set *deviceSet, attempts map[string]int) (*deadCheck, error) {
	driver, dsn := "pgx", e.postgresDSN
	if dsn == "" {
		driver, dsn = "sqlite", e.sqlitePath
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT u.external_id, d.invalid_at IS NOT NULL FROM devices d JOIN users u ON u.id = d.user_id`)
	if err != nil {
		return nil, fmt.Errorf("store: read devices: %w", err)
	}
	defer rows.Close()
	c := &deadCheck{Tokens: set.totalDead()}
	for rows.Next() {
		var ext string
		var invalid bool
		if err := rows.Scan(&ext, &invalid); err != nil {
			return nil, fmt.Errorf("store: read devices: %w", err)
		}
		i, err := strconv.Atoi(strings.TrimPrefix(ext, "bench-user-"))
		if err != nil || i < 0 || i >= len(set.devices) || !invalid {
			continue
		}
		if set.devices[i].dead {
			c.Pruned++
		} else {
			c.LivePruned++
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read devices: %w", err)
	}
	for _, d := range set.devices {
		if !d.dead {
			continue
		}
		n := attempts[d.key]
		c.Attempts += n
		switch {
		case n == 0:
			c.Unattempted++
		case n > 1:
			c.Retried++
		}
	}
	return c, nil
}
