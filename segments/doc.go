// Package segments decides who is in an audience. A filter is JSON in the
// shape of Braze's connected-audience objects, nested with {"AND": [...]},
// {"OR": [...]} and Herald's {"NOT": {...}}; Parse validates it and names the
// path of every bad node.
//
// One filter has two evaluators that always agree: Eval decides for one
// profile in memory (session start, triggers, per-user re-checks) and SQL
// compiles the filter to a boolean expression over the users table for
// SQLite and PostgreSQL, which the store streams with keyset pagination.
// The time is always given by the caller, never read from the clock.
//
// # Semantics shared by both evaluators
//
//   - A comparison applies to a value of its type only: "greater_than 5" is
//     false for a string attribute, and "equals 'gold'" for a number.
//   - Negative comparisons (not_equal, does_not_equal, does_not_match_regex,
//     does_not_include_value, is_not, not_in) are the exact complement of their
//     positive form: they include users without the attribute.
//   - String comparisons are case-sensitive; regular expressions use RE2
//     syntax without word boundaries, non-greedy repeats or multi-line flags,
//     and "(?i)" makes one case-insensitive.
//   - Times are compared at millisecond precision. "less_than_x_days_ago X"
//     is a time in (now − X days, now]; "greater_than_x_days_ago X" before
//     now − X days; "less_than_x_days_in_the_future X" in [now, now + X days);
//     "greater_than_x_days_in_the_future X" after now + X days.
//   - Counts over "days" (custom_event, purchase, sessions_in_last_x_days,
//     money_spent with days) cover whole UTC days, as Braze does: the current
//     day and the previous days days, so days=1 is 24 to 48 hours of history.
//   - Money is compared with a tolerance of 1e-9, so the order in which a
//     database adds prices never changes an answer.
package segments
