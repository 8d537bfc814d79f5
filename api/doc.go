// Package api serves Herald's HTTP interface: the Braze-compatible REST endpoints
// (/users/track, /users/export/ids, /messages/send, /campaigns/trigger/send, …),
// the management API (/manage/…) and health and metrics endpoints.
//
// Every request passes the same chain: an overload guard (a live lane and a
// smaller bulk lane for X-Braze-Bulk backfills; 503 with Retry-After when full),
// a body limit (413), bearer-key authentication with per-endpoint scopes (401,
// 403), a per-key rate limit shared through Redis (X-RateLimit-* headers on every
// authenticated response, 429 with Retry-After), then a thin handler that decodes, calls a domain
// package and encodes. Handlers never write SQL or call a channel sender.
package api
