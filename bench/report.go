package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// row is one line of the table report.
type row struct {
	name, value string
}

// result is a scenario's outcome: a struct that marshals to the JSON report and
// lists its rows for the table.
type result interface {
	rows() []row
}

// writeReport prints res as JSON or as an aligned two-column table.
func writeReport(w io.Writer, res result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range res.rows() {
		// a value spanning lines (an error body) would break the alignment
		fmt.Fprintf(tw, "%s\t%s\n", r.name, strings.Join(strings.Fields(r.value), " "))
	}
	return tw.Flush()
}

// latencies summarises sorted request durations, in milliseconds.
type latencies struct {
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarize(sorted []time.Duration) latencies {
	return latencies{
		P50: ms(percentile(sorted, 50)), P90: ms(percentile(sorted, 90)),
		P99: ms(percentile(sorted, 99)), Max: ms(percentile(sorted, 100)),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted durations (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// ms converts a duration to milliseconds rounded to 0.01.
func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

// mb converts bytes to MiB rounded to 0.1.
func mb(bytes int64) float64 { return round(float64(bytes)/(1<<20), 1) }

func round(v float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(v*p) / p
}

// rate is n per second of d, rounded to 0.1.
func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 1)
}

// num formats a float in plain notation with no trailing zeros ("1234.5", "12").
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
