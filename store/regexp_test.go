package store

import (
	"database/sql/driver"
	"fmt"
	"testing"
)

func TestRegexpFunction(t *testing.T) {
	t.Parallel()
	c := &regexpCache{}
	for _, tc := range []struct {
		pattern, value driver.Value
		want           driver.Value
	}{
		{`^a.c$`, "abc", int64(1)},
		{`^a.c$`, "abcd", int64(0)},
		{`(?i)^ABC`, []byte("abcdef"), int64(1)},
		{`^4[0-9]$`, int64(42), int64(1)},
		{`^1\.0$`, 1.0, int64(1)}, // as SQLite writes a real
		{`^2\.5$`, 2.5, int64(1)},
		{nil, "x", nil},
		{`x`, nil, nil},
	} {
		got, err := c.match(nil, []driver.Value{tc.pattern, tc.value})
		if err != nil || got != tc.want {
			t.Errorf("regexp(%v, %v) = %v, %v; want %v", tc.pattern, tc.value, got, err, tc.want)
		}
	}
	if _, err := c.match(nil, []driver.Value{"(", "x"}); err == nil {
		t.Error("a bad pattern was accepted")
	}
	for i := range 3 * regexpCacheSize {
		if _, err := c.get(fmt.Sprintf("^p%d$", i)); err != nil {
			t.Fatal(err)
		}
		if len(c.m) > regexpCacheSize {
			t.Fatalf("the cache holds %d patterns", len(c.m))
		}
	}
	c.clear()
	if c.m != nil {
		t.Fatal("clear kept the patterns")
	}
}
