package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	sqlite "modernc.org/sqlite"
)

// SQLite has a REGEXP operator but no function behind it: `x REGEXP p` calls
// regexp(p, x), which the application must provide. Each SQLite store opens its
// connections through a driver of its own that carries one, backed by Go's
// regexp (RE2, the syntax segments allow) and a small cache of compiled
// patterns, so every connection has it from the start.
//
// modernc.org/sqlite keeps a registered function for the life of the process
// (it has no way to unregister one), so a store registers once when it opens
// and Close empties the cache the function holds.

// regexpCacheSize bounds the compiled patterns a store keeps.
const regexpCacheSize = 256

// regexpCache holds compiled patterns.
type regexpCache struct {
	mu sync.Mutex
	m  map[string]*regexp.Regexp
}

func (c *regexpCache) get(pattern string) (*regexp.Regexp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if re, ok := c.m[pattern]; ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) >= regexpCacheSize {
		c.m = make(map[string]*regexp.Regexp, regexpCacheSize) // start over: patterns in use come back at once
	}
	c.m[pattern] = re
	return re, nil
}

func (c *regexpCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// match implements regexp(pattern, value): NULL when either is NULL.
func (c *regexpCache) match(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	if args[0] == nil || args[1] == nil {
		return nil, nil
	}
	pattern, ok := sqlText(args[0])
	if !ok {
		return nil, errors.New("REGEXP: the pattern must be text")
	}
	value, ok := sqlText(args[1])
	if !ok {
		return nil, nil
	}
	re, err := c.get(pattern)
	if err != nil {
		return nil, fmt.Errorf("REGEXP: %w", err)
	}
	if re.MatchString(value) {
		return int64(1), nil
	}
	return int64(0), nil
}

// sqlText converts a value the way SQLite casts it to text.
func sqlText(v driver.Value) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		s := strconv.FormatFloat(x, 'g', 15, 64)
		if !strings.ContainsAny(s, ".eIN") {
			s += ".0" // SQLite writes 1.0, not 1
		}
		return s, true
	}
	return "", false
}

// newSQLiteDriver returns a driver whose connections have the REGEXP function.
func newSQLiteDriver(c *regexpCache) (*sqlite.Driver, error) {
	d := &sqlite.Driver{}
	if err := d.RegisterDeterministicScalarFunction("regexp", 2, c.match); err != nil {
		return nil, fmt.Errorf("store: register REGEXP: %w", err)
	}
	return d, nil
}

// sqliteConnector opens connections to one DSN through a driver.
type sqliteConnector struct {
	d   *sqlite.Driver
	dsn string
}

func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.d.Open(c.dsn) }
func (c sqliteConnector) Driver() driver.Driver                        { return c.d }
