package main

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// runSetup is what a fan-out run (fanout, chaos) was asked for: the first
// fields of its report.
type runSetup struct {
	Scenario string  `json:"scenario"`
	Store    string  `json:"store"`
	Workers  int     `json:"workers"`
	Devices  int     `json:"devices"`
	Mix      string  `json:"mix"`
	DeadPct  float64 `json:"dead_pct"`
	// Redis is the Redis the run used (a cluster with --redis-cluster) and
	// how the queue's shards spread over it.
	Redis *redisReport `json:"redis,omitempty"`
}

// fanoutResult is the fanout scenario's report.
type fanoutResult struct {
	runSetup
	// Analyzed: ANALYZE ran between the user creation and the launch.
	Analyzed bool `json:"analyzed,omitempty"`
	// Live and Dead count devices by channel (apns, fcm, webpush).
	Live   map[string]int `json:"live"`
	Dead   map[string]int `json:"dead"`
	Ingest ingestStats    `json:"ingest"`
	Bare   *phaseResult   `json:"bare,omitempty"`
	Herald *phaseResult   `json:"herald"`
	// BareAfter is the bare loop run again once Herald has stopped: the
	// machine's speed drifts between phases (shared vCPUs), and the two bare
	// runs bracket Herald's.
	BareAfter *phaseResult `json:"bare_after,omitempty"`
	// Ratio is Herald's accepted messages/s over the mean of the two bare
	// runs'; RatioBefore and RatioAfter over each one's.
	Ratio       float64 `json:"ratio,omitempty"`
	RatioBefore float64 `json:"ratio_before,omitempty"`
	RatioAfter  float64 `json:"ratio_after,omitempty"`
	HostCPUs    int     `json:"host_cpus"`
	LoadBefore  string  `json:"loadavg_before"`
	LoadAfter   string  `json:"loadavg_after"`
}

// setRatios sets Ratio, RatioBefore and RatioAfter from the phases.
func (r *fanoutResult) setRatios() {
	if r.Bare == nil || r.BareAfter == nil || r.Bare.MsgsPerS <= 0 || r.BareAfter.MsgsPerS <= 0 {
		return
	}
	r.Ratio = round(r.Herald.MsgsPerS/((r.Bare.MsgsPerS+r.BareAfter.MsgsPerS)/2), 2)
	r.RatioBefore = round(r.Herald.MsgsPerS/r.Bare.MsgsPerS, 2)
	r.RatioAfter = round(r.Herald.MsgsPerS/r.BareAfter.MsgsPerS, 2)
}

func (r *fanoutResult) setAudience(s *deviceSet) {
	r.Live, r.Dead, r.HostCPUs = map[string]int{}, map[string]int{}, runtime.NumCPU()
	for ch := range numChannels {
		r.Live[channelNames[ch]], r.Dead[channelNames[ch]] = s.live[ch], s.dead[ch]
	}
}

// phaseResult is one phase as the fakes saw it (and, for Herald, its processes).
type phaseResult struct {
	Accepted          int            `json:"accepted"`
	AcceptedByChannel map[string]int `json:"accepted_by_channel"`
	// ElapsedS runs from the launch (or the bare loop's start) to the last
	// message the fakes accepted.
	ElapsedS float64 `json:"elapsed_s"`
	// FirstS is the time to the first accepted message.
	FirstS   float64 `json:"first_accept_s"`
	MsgsPerS float64 `json:"msgs_per_s"`
	// Latency is launch-to-accept per message, from the fakes' receive times.
	Latency latencies `json:"latency"`
	// Lost are live devices that got nothing; Duplicates extra messages with
	// another collapse id (the device shows both); Resends extra messages with
	// the same collapse id (the device shows one).
	Lost              int    `json:"lost"`
	Duplicates        int    `json:"duplicates"`
	Resends           int    `json:"resends"`
	DeadAccepted      int    `json:"dead_accepted"`
	Unknown           int    `json:"unknown_tokens"`
	WrongContent      int    `json:"wrong_content"`
	FirstWrongContent string `json:"first_wrong_content,omitempty"`
	// ProviderRequests is every send request the fakes answered; Rejected
	// those not accepted, which should be one per dead device.
	ProviderRequests int64 `json:"provider_requests"`
	Rejected         int64 `json:"rejected"`
	// ClientFailures are unexpected answers the bare loop's clients saw.
	ClientFailures   int64  `json:"client_failures,omitempty"`
	FirstClientError string `json:"first_client_error,omitempty"`
	// HarnessCPUS is the harness process's CPU seconds in the phase: the
	// fakes, plus the bare loop's clients in the bare phase.
	HarnessCPUS float64 `json:"harness_cpu_s"`

	DispatchID     string          `json:"dispatch_id,omitempty"`
	DispatchStatus string          `json:"dispatch_status,omitempty"`
	Pages          int             `json:"pages,omitempty"`
	PagesDone      int             `json:"pages_done,omitempty"`
	DoneS          float64         `json:"launch_to_done_s,omitempty"`
	Processes      []processResult `json:"processes,omitempty"`
	HeraldCPUS     float64         `json:"herald_cpu_s,omitempty"`
	// RedisCPUS is the Redis server's CPU seconds in the phase, every client's.
	RedisCPUS float64 `json:"redis_cpu_s,omitempty"`
	// PostgresCPUS is the PostgreSQL server's CPU seconds in the phase (every
	// postgres process on this machine).
	PostgresCPUS float64 `json:"postgres_cpu_s,omitempty"`
	// Profiles are the CPU profile files written (--profile).
	Profiles []string `json:"profiles,omitempty"`
}

// processResult is one Herald process during the fan-out.
type processResult struct {
	Role string `json:"role"`
	PID  int    `json:"pid"`
	// IngestPeakRSSMB is the peak before the launch (start-up and user
	// creation); FanoutPeakRSSMB the peak from the launch on.
	IngestPeakRSSMB float64 `json:"ingest_peak_rss_mb"`
	FanoutPeakRSSMB float64 `json:"fanout_peak_rss_mb"`
	CPUS            float64 `json:"cpu_s"`
	// Deliveries is herald_deliveries_total by outcome, from its /metrics.
	Deliveries map[string]int64 `json:"deliveries,omitempty"`
}

func newPhaseResult(t *tally, req1, req0 [numChannels]int64, set *deviceSet) *phaseResult {
	r := &phaseResult{Accepted: t.total(), AcceptedByChannel: map[string]int{}, ElapsedS: round(t.span().Seconds(), 2),
		FirstS:   round(t.firstAfter().Seconds(), 2),
		MsgsPerS: rate(int64(t.total()), t.span()), Latency: t.latencies(), Lost: t.lost(), Duplicates: t.duplicates,
		Resends: t.resends, DeadAccepted: t.deadAccepted, Unknown: t.unknown, WrongContent: t.wrongContent,
		FirstWrongContent: t.firstWrong}
	for ch := range numChannels {
		r.AcceptedByChannel[channelNames[ch]] = t.accepted[ch]
		r.ProviderRequests += req1[ch] - req0[ch]
	}
	r.Rejected = r.ProviderRequests - int64(r.Accepted)
	return r
}

// correct reports whether every live device got exactly one message with its
// content, and nothing went anywhere else.
func (r *phaseResult) correct() bool {
	return r.Lost == 0 && r.Duplicates == 0 && r.WrongContent == 0 && r.DeadAccepted == 0 && r.Unknown == 0 && r.ClientFailures == 0
}

func (r *fanoutResult) rows() []row {
	live, dead := 0, 0
	for _, n := range r.Live {
		live += n
	}
	for _, n := range r.Dead {
		dead += n
	}
	rows := []row{
		{"scenario", r.Scenario},
		{"store", r.Store},
		{"workers", strconv.Itoa(r.Workers)},
		{"ANALYZE before launch", strconv.FormatBool(r.Analyzed)},
	}
	rows = append(rows, r.Redis.rows()...)
	rows = append(rows,
		row{"devices", fmt.Sprintf("%d (%s): %d live, %d dead", r.Devices, r.Mix, live, dead)},
		row{"live by channel", counts(r.Live)},
		row{"users created", fmt.Sprintf("%d in %ss (%s/s, %d requests, %d retried)", r.Ingest.Users, num(r.Ingest.ElapsedS),
			num(r.Ingest.UsersPS), r.Ingest.Requests, r.Ingest.Retries)},
	)
	if r.Bare != nil {
		rows = append(rows, r.Bare.rows("bare")...)
	}
	rows = append(rows, r.Herald.rows("herald")...)
	if r.BareAfter != nil {
		rows = append(rows, r.BareAfter.rows("bare after")...)
	}
	switch {
	case r.BareAfter != nil:
		rows = append(rows, row{"ratio", fmt.Sprintf("herald / bare = %s (msgs/s, over the mean of the bare runs; %s against the one before, %s after)",
			num(r.Ratio), num(r.RatioBefore), num(r.RatioAfter))})
	case r.Bare != nil:
		rows = append(rows, row{"ratio", fmt.Sprintf("herald / bare = %s (msgs/s)", num(r.Ratio))})
	}
	return append(rows,
		row{"host CPUs", strconv.Itoa(r.HostCPUs)},
		row{"load average", "before " + r.LoadBefore + ", after " + r.LoadAfter},
	)
}

func (r *phaseResult) rows(name string) []row {
	from := "start"
	if name == "herald" {
		from = "launch"
	}
	rows := []row{
		{name + " accepted", fmt.Sprintf("%d (%s)", r.Accepted, counts(r.AcceptedByChannel))},
		{name + " " + from + " → last accept", fmt.Sprintf("%s s (first after %s s)", num(r.ElapsedS), num(r.FirstS))},
		{name + " msgs/s", num(r.MsgsPerS)},
		{name + " " + from + "-to-accept", fmt.Sprintf("p50 %s ms, p99 %s ms, max %s ms", num(r.Latency.P50), num(r.Latency.P99), num(r.Latency.Max))},
		{name + " correctness", fmt.Sprintf("lost=%d duplicates=%d resends=%d wrong_content=%d dead_accepted=%d unknown=%d",
			r.Lost, r.Duplicates, r.Resends, r.WrongContent, r.DeadAccepted, r.Unknown)},
		{name + " provider requests", fmt.Sprintf("%d (%d rejected)", r.ProviderRequests, r.Rejected)},
	}
	if r.FirstWrongContent != "" {
		rows = append(rows, row{name + " first wrong content", r.FirstWrongContent})
	}
	if r.ClientFailures > 0 {
		rows = append(rows, row{name + " client failures", fmt.Sprintf("%d, first: %s", r.ClientFailures, r.FirstClientError)})
	}
	if r.DispatchID != "" {
		rows = append(rows,
			row{name + " dispatch", fmt.Sprintf("%s %s, pages %d/%d, launch → done seen %s s", r.DispatchID, r.DispatchStatus,
				r.PagesDone, r.Pages, num(r.DoneS))})
		for _, p := range r.Processes {
			ingest := num(p.IngestPeakRSSMB) + " MB"
			if p.IngestPeakRSSMB == 0 {
				ingest = "n/a"
			}
			rows = append(rows, row{fmt.Sprintf("herald %s (pid %d)", p.Role, p.PID),
				fmt.Sprintf("peak RSS %s MB in the fan-out (%s before), CPU %s s, deliveries %s",
					num(p.FanoutPeakRSSMB), ingest, num(p.CPUS), counts64(p.Deliveries))})
		}
		cpu := fmt.Sprintf("%s s herald, %s s redis (whole server), %s s harness (fakes)", num(r.HeraldCPUS), num(r.RedisCPUS), num(r.HarnessCPUS))
		if r.PostgresCPUS > 0 {
			cpu += ", " + num(r.PostgresCPUS) + " s postgres (whole server)"
		}
		rows = append(rows, row{name + " CPU", cpu})
		if len(r.Profiles) > 0 {
			rows = append(rows, row{name + " profiles", fmt.Sprintf("%d files in %s (go tool pprof -top FILES...)", len(r.Profiles), filepath.Dir(r.Profiles[0]))})
		}
	} else {
		rows = append(rows, row{name + " CPU", num(r.HarnessCPUS) + " s harness (clients and fakes)"})
	}
	return rows
}

// counts formats a map as "k1=v1 k2=v2" in key order.
func counts(m map[string]int) string {
	m64 := make(map[string]int64, len(m))
	for k, v := range m {
		m64[k] = int64(v)
	}
	return counts64(m64)
}

func counts64(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + strconv.FormatInt(m[k], 10)
	}
	return strings.Join(parts, " ")
}
