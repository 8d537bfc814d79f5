package segments

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/herald-oss/herald/profiles"
)

// Dialects SQL compiles for.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// SQL compiles the filter at now into a boolean expression over the users
// table aliased u, with ? placeholders (none inside literals) and their
// arguments. It reads the tables of store's schema: users, devices,
// user_apps, user_session_days, user_event_days, user_purchase_days. On
// SQLite, matches_regex needs the REGEXP function the store registers. The
// expression is never NULL, so it can be negated and combined freely.
func (f *Filter) SQL(dialect string, now time.Time) (string, []any, error) {
	if dialect != SQLite && dialect != Postgres {
		return "", nil, fmt.Errorf("segments: unknown SQL dialect %q", dialect)
	}
	b := &sqlBuilder{pg: dialect == Postgres, c: newClock(now)}
	if err := b.node(f.root); err != nil {
		return "", nil, err
	}
	return b.sb.String(), b.args, nil
}

type sqlBuilder struct {
	pg   bool
	c    clock
	sb   strings.Builder
	args []any
}

var errUnresolved = errors.New("segments: the filter references segments: Resolve it first")

// w writes SQL text; each ? in it takes the next argument.
func (b *sqlBuilder) w(sql string, args ...any) {
	b.sb.WriteString(sql)
	b.args = append(b.args, args...)
}

func (b *sqlBuilder) node(n *node) error {
	switch n.kind {
	case kAnd, kOr:
		if len(n.kids) == 0 {
			b.w(map[bool]string{true: "TRUE", false: "FALSE"}[n.kind == kAnd])
			return nil
		}
		op := " AND "
		if n.kind == kOr {
			op = " OR "
		}
		b.w("(")
		for i, k := range n.kids {
			if i > 0 {
				b.w(op)
			}
			if err := b.node(k); err != nil {
				return err
			}
		}
		b.w(")")
		return nil
	case kNot:
		b.w("(NOT ")
		if err := b.node(n.kids[0]); err != nil {
			return err
		}
		b.w(")")
		return nil
	case kSegment:
		return errUnresolved
	}
	pos, neg := n.cmp.positive()
	if neg {
		b.w("(NOT ")
	}
	// Every leaf but a custom attribute's is never NULL (EXISTS, sums under
	// COALESCE, NOT NULL columns, "IS NOT NULL AND …" ranges). Leaving those
	// bare matters on PostgreSQL: an EXISTS under COALESCE cannot become a
	// semi-join, so each audience page would scan all of devices.
	if n.kind != kCustom {
		b.leaf(n, pos)
	} else {
		b.w("COALESCE(")
		b.leaf(n, pos)
		b.w(", FALSE)")
	}
	if neg {
		b.w(")")
	}
	return nil
}

var sqlOps = map[cmp]string{cEq: " = ", cGt: " > ", cGe: " >= ", cLt: " < ", cLe: " <= "}

// measure writes "expr op value" for a whole-number measure.
func (b *sqlBuilder) measure(expr string, pos cmp, value float64, args ...any) {
	b.w("("+expr+sqlOps[pos]+"?)", append(args, int64(value))...)
}

// timeRange writes the range test of column expression expr (Unix ms).
func (b *sqlBuilder) msRange(expr string, r timeRange) {
	b.w("(" + expr + " IS NOT NULL")
	if r.hasLo {
		b.w(" AND "+expr+" >= ?", r.lo)
	}
	if r.hasHi {
		b.w(" AND "+expr+" < ?", r.hi)
	}
	b.w(")")
}

func (b *sqlBuilder) leaf(n *node, pos cmp) {
	switch n.kind {
	case kCustom:
		b.custom(n, pos)
	case kAttr:
		col := "u." + standardAttrs[n.name].column
		b.w("(" + col + " IS NOT NULL AND " + col + " <> ''")
		switch pos {
		case cEq:
			b.w(" AND "+col+" = ?", n.str)
		case cRegex:
			b.regexp(col, n)
		}
		b.w(")")
	case kPushSub:
		b.w("(u.push_subscribe = ?)", n.str)
	case kEmailSub:
		b.w("(u.email_subscribe = ?)", n.str)
	case kPushEnabled:
		b.w("EXISTS (SELECT 1 FROM devices d WHERE d.user_id = u.id AND d.invalid_at IS NULL AND d.push_enabled")
		if n.platform != "" {
			b.w(" AND d.platform = ?", n.platform)
		}
		if n.appID != "" {
			b.w(" AND d.app_id = ?", n.appID)
		}
		b.w(")")
	case kLastUsed:
		b.msRange("u.last_session_at", b.c.rangeFor(n))
	case kFirstUsed:
		b.msRange("u.first_session_at", b.c.rangeFor(n))
	case kSessionCount:
		b.measure("(SELECT COALESCE(SUM(a.sessions), 0) FROM user_apps a WHERE a.user_id = u.id)", pos, n.num)
	case kSessionsInDays:
		b.measure("(SELECT COALESCE(SUM(s.sessions), 0) FROM user_session_days s WHERE s.user_id = u.id AND s.day >= ?)",
			pos, n.num, b.c.today-n.days)
	case kEvent:
		b.measure("(SELECT COALESCE(SUM(e.count), 0) FROM user_event_days e WHERE e.user_id = u.id AND e.name = ? AND e.day >= ?)",
			pos, n.num, n.name, b.c.today-n.days)
	case kPurchase:
		if n.name == "" {
			b.measure("(SELECT COALESCE(SUM(p.count), 0) FROM user_purchase_days p WHERE p.user_id = u.id AND p.day >= ?)",
				pos, n.num, b.c.today-n.days)
		} else {
			b.measure("(SELECT COALESCE(SUM(p.count), 0) FROM user_purchase_days p WHERE p.user_id = u.id AND p.product_id = ? AND p.day >= ?)",
				pos, n.num, n.name, b.c.today-n.days)
		}
	case kEventLast, kEventFirst:
		if n.cmp == cNever {
			b.w("(NOT EXISTS (SELECT 1 FROM user_event_days e WHERE e.user_id = u.id AND e.name = ?))", n.name)
			return
		}
		agg := "MAX(e.last_at)"
		if n.kind == kEventFirst {
			agg = "MIN(e.first_at)"
		}
		expr := "(SELECT " + agg + " FROM user_event_days e WHERE e.user_id = u.id AND e.name = ?)"
		r := b.c.rangeFor(n)
		b.w("("+expr+" IS NOT NULL", n.name)
		if r.hasLo {
			b.w(" AND "+expr+" >= ?", n.name, r.lo)
		}
		if r.hasHi {
			b.w(" AND "+expr+" < ?", n.name, r.hi)
		}
		b.w(")")
	case kMoney:
		expr, args := "u.total_revenue", []any(nil)
		if n.hasDays {
			expr = "(SELECT COALESCE(SUM(p.revenue), 0) FROM user_purchase_days p WHERE p.user_id = u.id AND p.day >= ?)"
			args = []any{b.c.today - n.days}
		}
		v := n.num
		switch pos {
		case cEq:
			b.w("("+expr+" > ? AND "+expr+" < ?)", append(append(append(args, v-moneyEpsilon), args...), v+moneyEpsilon)...)
		case cGt:
			b.w("("+expr+" > ?)", append(args, v+moneyEpsilon)...)
		case cGe:
			b.w("("+expr+" > ?)", append(args, v-moneyEpsilon)...)
		case cLt:
			b.w("("+expr+" < ?)", append(args, v-moneyEpsilon)...)
		case cLe:
			b.w("("+expr+" < ?)", append(args, v+moneyEpsilon)...)
		}
	case kBucket:
		b.measure("u.random_bucket", pos, n.num)
	}
}

// regexp writes " AND col matches n's pattern"; colArgs are the arguments
// of col's own placeholders.
func (b *sqlBuilder) regexp(col string, n *node, colArgs ...any) {
	if b.pg {
		b.w(" AND "+col+" ~ ?", append(colArgs, n.pgRegex)...)
	} else {
		b.w(" AND "+col+" REGEXP ?", append(colArgs, n.re.String())...)
	}
}

// custom writes a custom attribute comparison. The key is always a bound
// text argument.
func (b *sqlBuilder) custom(n *node, pos cmp) {
	const key = "CAST(? AS TEXT)"
	val := "u.custom -> " + key // the attribute's JSON, NULL when absent
	typeOf := "json_type(" + val + ")"
	if b.pg {
		typeOf = "jsonb_typeof(" + val + ")"
	}
	k := n.name
	if pos == cExists {
		b.w("("+val+" IS NOT NULL)", k)
		return
	}
	switch n.vt {
	case vString:
		b.w("("+typeOf+" = ? AND u.custom ->> "+key+" IS NOT NULL", k, b.typeName(vString), k)
		if pos == cRegex {
			b.regexp("u.custom ->> "+key, n, k)
		} else {
			b.w(" AND u.custom ->> "+key+" = ?", k, n.str)
		}
		b.w(")")
	case vNumber:
		num := "(CASE WHEN " + typeOf + " IN (?, ?) THEN u.custom ->> " + key + " END)"
		if b.pg {
			num = "(CASE WHEN " + typeOf + " IN (?, ?) THEN CAST(u.custom ->> " + key + " AS DOUBLE PRECISION) END)"
		}
		t1, t2 := "integer", "real"
		if b.pg {
			t1, t2 = "number", "number"
		}
		b.w("("+num+sqlOps[pos]+"?)", k, t1, t2, k, n.num)
	case vBool:
		want := "false"
		if n.b {
			want = "true"
		}
		if b.pg {
			b.w("("+val+" = CAST(? AS jsonb))", k, want)
		} else {
			b.w("("+typeOf+" = ?)", k, want)
		}
	case vTime:
		path := "'$.\"$time\"'"
		if b.pg {
			path = "'$time'"
		}
		expr := "(CASE WHEN " + typeOf + " = 'object' THEN (" + val + ") ->> " + path + " END)"
		r := b.c.rangeFor(n)
		b.w("("+expr+" IS NOT NULL", k, k)
		if r.hasLo {
			b.w(" AND "+expr+" >= ?", k, k, msText(r.lo))
		}
		if r.hasHi {
			b.w(" AND "+expr+" < ?", k, k, msText(r.hi))
		}
		b.w(")")
	case vArray:
		b.w("("+typeOf+" = 'array' AND ", k)
		if b.pg {
			var elem any = n.str
			switch n.elem {
			case vNumber:
				elem = n.num
			case vBool:
				elem = n.b
			}
			arr, _ := json.Marshal([]any{elem}) // a string, number or bool: cannot fail
			b.w("("+val+") @> CAST(? AS jsonb))", k, string(arr))
			return
		}
		b.w("EXISTS (SELECT 1 FROM json_each("+val+") j WHERE ", k)
		switch n.elem {
		case vString:
			b.w("j.type = 'text' AND j.atom = ?", n.str)
		case vNumber:
			b.w("j.type IN ('integer', 'real') AND j.atom = ?", n.num)
		case vBool:
			b.w("j.type = ?", map[bool]string{true: "true", false: "false"}[n.b])
		}
		b.w("))")
	}
}

func (b *sqlBuilder) typeName(t vtype) string {
	if t == vString && b.pg {
		return "string"
	}
	return "text"
}

// msText formats Unix ms as stored custom times are (profiles.TimeLayout),
// so text order is time order.
func msText(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(profiles.TimeLayout)
}
