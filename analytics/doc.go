// Package analytics holds Herald's event export stream (like Braze
// Currents): every engagement event (send, delivery, bounce, abort,
// impression, click, dismiss, open) and behaviour event (custom events,
// purchases) is posted, batched as NDJSON with a stable unique id, to each
// configured HTTP connector.
//
// The database is the buffer: the exporter reads each source table after the
// connector's durable cursor (export_cursors), posts a batch, and advances
// the cursor only after a 2xx, so delivery is at least once (a batch the
// receiver took but did not acknowledge is sent again; receivers dedupe by
// id). Failures are retried with exponential backoff and jitter. Only one
// worker exports a connector at a time: it holds a lease on the connector's
// cursor row, and the cursor only advances under the lease.
package analytics
