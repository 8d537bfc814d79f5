package channels

import (
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
)

// SendEach runs send on every message with at most workers at once and
// returns the results in the order of msgs: the loop of a sender whose
// provider takes one message per request.
func SendEach(msgs []Message, workers int, send func(Message) Result) []Result {
	results := make([]Result, len(msgs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(msgs), max(workers, 1)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				results[i] = send(msgs[i])
			}
		})
	}
	wg.Wait()
	return results
}

// Printable keeps the first n runes of s that are printable, single spaced:
// what of a provider's answer goes into an error.
func Printable(s string, n int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if n == 0 {
			break
		}
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			n--
			space = false
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
