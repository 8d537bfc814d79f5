package profiles

import (
	"strings"
	"testing"
)

func TestBrazeIDRoundTrip(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, id := range []int64{1, 2, 3, 42, 1 << 20, 1<<31 - 1, 1 << 40, 1<<63 - 1} {
		s := BrazeIDFor(id)
		if len(s) != 24 || strings.Trim(s, "0123456789abcdef") != "" {
			t.Fatalf("BrazeIDFor(%d) = %q", id, s)
		}
		if seen[s] {
			t.Fatalf("duplicate braze id %s", s)
		}
		seen[s] = true
		got, ok := ParseBrazeID(s)
		if !ok || got != id {
			t.Fatalf("ParseBrazeID(%s) = %d, %v; want %d", s, got, ok, id)
		}
		// a changed digit is rejected by the check bits
		flip := []byte(s)
		flip[20] ^= 1
		if _, ok := ParseBrazeID(string(flip)); ok {
			t.Fatalf("corrupted braze id %s accepted", flip)
		}
	}
	if BrazeIDFor(1)[:12] == BrazeIDFor(2)[:12] {
		t.Fatal("consecutive ids share a prefix: the mixing does not hide the counter")
	}
	for _, bad := range []string{"", "xyz", "000000000000000000000000", "ffffffffffffffffffffffff", "zz0000000000000000000000"} {
		if id, ok := ParseBrazeID(bad); ok {
			t.Fatalf("ParseBrazeID(%q) = %d", bad, id)
		}
	}
}

func FuzzParseBrazeID(f *testing.F) {
	f.Add(BrazeIDFor(7))
	f.Add("5cd0c3c9b5c6b1004a7f2e91")
	f.Fuzz(func(t *testing.T, s string) {
		if id, ok := ParseBrazeID(s); ok && BrazeIDFor(id) != strings.ToLower(s) {
			t.Fatalf("ParseBrazeID(%q) = %d, but BrazeIDFor gives %s", s, id, BrazeIDFor(id))
		}
	})
}
