// Package scheduler is the time logic of scheduled, local-time and recurring
// campaigns: when each occurrence falls, what it is called, what to do about
// occurrences missed while no scheduler ran, and how a local-time send splits
// into waves. It is pure: it reads no clock (every function takes the
// instants it needs) and imports no store or queue.
//
// # Recurrences
//
// ParseRecurrence reads a campaign's recurring {cron, time_zone |
// in_local_time, starts_at, ends_at} with robfig/cron/v3's standard parser:
// five fields (minute hour day-of-month month day-of-week, names like mon or
// jan allowed) or a descriptor (@hourly, @daily, @midnight, @weekly,
// @monthly, @yearly, @annually). A "CRON_TZ=Zone " or "TZ=Zone " prefix
// names the zone; it must agree with time_zone when both are given and is
// refused with in_local_time. Neither means UTC; "Local" (the host's zone) is
// refused everywhere. Refused as well: @every (an interval counted from
// whenever it is asked has no occurrences every replica agrees on), six
// fields (seconds), and specs matching no date (30 February). Every problem
// is reported at once, each a *FieldError naming its field.
//
// starts_at and ends_at are inclusive bounds on occurrences. Next(after) is
// the first occurrence strictly after after.
//
// # DST
//
// A spec is matched against the wall clock of its zone, and each matching
// wall time becomes an instant by two rules (LocalTime.In):
//
//   - A wall time in a spring-forward gap runs at the first instant after
//     the gap: 02:30 in Europe/Berlin on the last Sunday of March runs at
//     03:00 CEST (01:00Z), 02:15 on Lord Howe's first Sunday of October at
//     02:30 +11.
//   - A wall time that occurs twice on the fall-back day runs only at its
//     first instant: 01:30 in America/New_York on the first Sunday of
//     November runs at 01:30 EDT, not again at 01:30 EST.
//
// Wall times mapping to an instant already reached are dropped, so the
// gap's times run once together and the repeated hour's second pass runs
// nothing: @hourly in Berlin on the fall-back night runs at 02:00 CEST and
// next at 03:00 CET, two hours later.
//
// robfig/cron v3.0.1 alone does neither (measured in recurrence_test.go):
// 30 2 * * * skips the spring-forward day entirely in Berlin, New York and
// Lord Howe, and runs twice on the fall-back day. time.Date leaves the
// choice unspecified and it varies by zone (measured: Berlin's 02:30 gap
// gives 03:30, New York's gives 01:30 EST; Berlin's overlap gives the
// second instant, New York's the first), so this package walks the zone's
// transitions itself (time.Time.ZoneBounds). The embedded tzdata is a
// fallback for hosts without a zoneinfo database.
//
// # Occurrence keys and replicas
//
// OccurrenceKey is an occurrence's UTC instant to the second
// ("20260329T010000Z"); every replica computes the same occurrences, so
// enqueueing with TaskID "dispatch:<campaign>:<key>" fires each once however
// many schedulers run. Missed decides what a scheduler does after downtime:
// the most recent missed occurrence fires if it is within the grace window,
// the others are reported as skipped (at most MaxSkipped, the most recent).
//
// # Local time
//
// A local time (LocalTime, a date and HH:MM[:SS] with no zone) is sent in
// waves: WaveTimes gives the instant each zone's clocks reach it (under the
// same DST rules), from UTC+14 (Pacific/Kiritimati) to UTC−12 (Etc/GMT+12),
// WaveSpan (26 h) apart. PlanWaves groups zones sharing an instant into one
// wave, sends users without a zone (the empty name) or with an unknown one
// in the company's default zone, and applies a Policy to zones whose moment
// had passed at launch: PolicySkip (Braze's behaviour) leaves them out,
// PolicyNextOccurrence sends the same wall time the next day. All waves
// belong to one dispatch.
//
// An in_local_time recurrence is evaluated on the UTC+14 clock, the first
// to reach any wall time: its occurrences are first-wave instants (and key
// the dispatch), Recurrence.LocalTime gives the wall time to plan waves for,
// and Missed keeps such an occurrence fireable until its last wave (WaveSpan
// later) plus grace. Plan its waves with PolicySkip: a zone that missed one
// occurrence gets the next one anyway.
package scheduler
