package fake

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Record is one message a fake accepted, in the shape every fake lists.
type Record struct {
	Channel    string            `json:"channel"`
	Token      string            `json:"token,omitempty"`
	Endpoint   string            `json:"endpoint,omitempty"`
	AppID      string            `json:"app_id,omitempty"`
	CollapseID string            `json:"collapse_id,omitempty"`
	Headers    map[string]string `json:"headers"`
	Payload    json.RawMessage   `json:"payload"`
	ReceivedAt time.Time         `json:"received_at"`
}

// Recorder keeps accepted messages in arrival order. It is safe for concurrent use.
type Recorder struct {
	mu      sync.Mutex
	records []Record
	limit   int
}

// NewRecorder returns a Recorder keeping at most limit records (oldest dropped
// first); limit 0 keeps everything.
func NewRecorder(limit int) *Recorder { return &Recorder{limit: limit} }

// Add records an accepted message.
func (r *Recorder) Add(rec Record) {
	if rec.ReceivedAt.IsZero() {
		rec.ReceivedAt = time.Now().UTC()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	// trim only when twice over the limit, so adding stays amortized O(1)
	if r.limit > 0 && len(r.records) >= 2*r.limit {
		r.records = append(r.records[:0], r.records[len(r.records)-r.limit:]...)
	}
}

// List returns a copy of the records (the newest limit of them), oldest first.
func (r *Recorder) List() []Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Record(nil), r.window()...)
}

// Len returns the number of records kept.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.window())
}

func (r *Recorder) window() []Record {
	if r.limit > 0 && len(r.records) > r.limit {
		return r.records[len(r.records)-r.limit:]
	}
	return r.records
}

// Clear forgets every record.
func (r *Recorder) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = nil
}

// Handler serves GET /_fake/messages (the records as a JSON array) and DELETE
// (clears them).
func (r *Recorder) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/json")
			list := r.List()
			if list == nil {
				list = []Record{}
			}
			_ = json.NewEncoder(w).Encode(list)
		case http.MethodDelete:
			r.Clear()
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, DELETE")
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
}

// Headers flattens request headers for a record (first value of each).
func Headers(h http.Header, keep ...string) map[string]string {
	out := map[string]string{}
	for _, k := range keep {
		if v := h.Get(k); v != "" {
			out[k] = v
		}
	}
	return out
}
