// Package profiles holds the semantics of a user profile: identifiers (external id,
// aliases, Herald's own braze_id), standard and custom attributes and their update
// operations (inc, add, remove, null deletes), events and purchases with their
// rollups, devices and push tokens (a token moves to the user who registered it last;
// a web push token is identified by its endpoint), session data, subscription states,
// and apps with their provider credentials (sealed at rest).
//
// It decodes Braze's /users/track, /users/export/ids, /users/delete,
// /users/alias/new and /users/identify request formats, applies them through the
// Store interface it defines (implemented by package store), and builds the
// Braze-shaped export. It knows nothing of HTTP.
package profiles
