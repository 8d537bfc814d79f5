package segments

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// compileRegex compiles a matches_regex pattern for Go (Eval, and SQLite's
// REGEXP function, which runs Go's regexp) and translates it for
// PostgreSQL's advanced regular expressions. Only constructs whose meaning is
// the same in both are accepted; the translation spells out every character
// class and case fold, so PostgreSQL matches exactly what Go matches.
func compileRegex(pattern string) (*regexp.Regexp, string, bool, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, "", false, fmt.Errorf("invalid regular expression: %w", err)
	}
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil, "", false, fmt.Errorf("invalid regular expression: %w", err)
	}
	var b strings.Builder
	if err := writeARE(&b, tree); err != nil {
		return nil, "", false, fmt.Errorf("regular expression %q: %w", pattern, err)
	}
	return re, b.String(), strings.HasPrefix(pattern, "(?i)"), nil
}

var errUnsupported = errors.New("unsupported")

// writeARE writes re in PostgreSQL ARE syntax.
func writeARE(b *strings.Builder, re *syntax.Regexp) error {
	switch re.Op {
	case syntax.OpEmptyMatch:
		b.WriteString("(?:)")
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if re.Flags&syntax.FoldCase != 0 && unicode.SimpleFold(r) != r {
				b.WriteByte('[')
				for f := r; ; {
					writeClassRune(b, f)
					if f = unicode.SimpleFold(f); f == r {
						break
					}
				}
				b.WriteByte(']')
				continue
			}
			writeRune(b, r)
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return fmt.Errorf("%w: a class that matches nothing", errUnsupported)
		}
		b.WriteByte('[')
		for i := 0; i+1 < len(re.Rune); i += 2 {
			lo, hi := re.Rune[i], re.Rune[i+1]
			if lo == 0 { // text never holds NUL, and ARE cannot write it
				if hi == 0 {
					continue
				}
				lo = 1
			}
			writeClassRune(b, lo)
			if hi != lo {
				b.WriteByte('-')
				writeClassRune(b, hi)
			}
		}
		b.WriteByte(']')
	case syntax.OpAnyCharNotNL:
		b.WriteString(`[^\n]`)
	case syntax.OpAnyChar:
		b.WriteString(`(?:.|\n)`)
	case syntax.OpBeginText:
		b.WriteByte('^')
	case syntax.OpEndText:
		b.WriteByte('$')
	case syntax.OpCapture:
		b.WriteString("(?:")
		if err := writeARE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteByte(')')
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		if re.Flags&syntax.NonGreedy != 0 {
			return fmt.Errorf("%w: non-greedy repeats", errUnsupported)
		}
		b.WriteString("(?:")
		if err := writeARE(b, re.Sub[0]); err != nil {
			return err
		}
		b.WriteByte(')')
		switch re.Op {
		case syntax.OpStar:
			b.WriteByte('*')
		case syntax.OpPlus:
			b.WriteByte('+')
		case syntax.OpQuest:
			b.WriteByte('?')
		default:
			if re.Max > 255 || re.Min > 255 {
				return fmt.Errorf("%w: repeat counts over 255", errUnsupported)
			}
			if re.Max == -1 {
				fmt.Fprintf(b, "{%d,}", re.Min)
			} else {
				fmt.Fprintf(b, "{%d,%d}", re.Min, re.Max)
			}
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if err := writeARE(b, s); err != nil {
				return err
			}
		}
	case syntax.OpAlternate:
		b.WriteString("(?:")
		for i, s := range re.Sub {
			if i > 0 {
				b.WriteByte('|')
			}
			if err := writeARE(b, s); err != nil {
				return err
			}
		}
		b.WriteByte(')')
	case syntax.OpBeginLine, syntax.OpEndLine:
		return fmt.Errorf("%w: multi-line mode (?m)", errUnsupported)
	case syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		return fmt.Errorf(`%w: word boundaries (\b, \B)`, errUnsupported)
	default:
		return fmt.Errorf("%w: %v", errUnsupported, re.Op)
	}
	return nil
}

// writeRune writes r outside brackets.
func writeRune(b *strings.Builder, r rune) {
	switch {
	case strings.ContainsRune(`\^$.|?*+()[]{}`, r):
		b.WriteByte('\\')
		b.WriteRune(r)
	case !unicode.IsPrint(r):
		writeEscape(b, r)
	default:
		b.WriteRune(r)
	}
}

// writeClassRune writes r inside brackets.
func writeClassRune(b *strings.Builder, r rune) {
	switch {
	case strings.ContainsRune(`\]^-[`, r):
		b.WriteByte('\\')
		b.WriteRune(r)
	case !unicode.IsPrint(r):
		writeEscape(b, r)
	default:
		b.WriteRune(r)
	}
}

func writeEscape(b *strings.Builder, r rune) {
	if r <= 0xFFFF {
		fmt.Fprintf(b, `\u%04X`, r)
	} else {
		fmt.Fprintf(b, `\U%08X`, r)
	}
}
