package templates

import (
	"slices"
	"strings"
)

// argScanner reads a connected_content tag's arguments.
type argScanner struct {
	s string
	i int
}

func (sc *argScanner) done() bool { return sc.i >= len(sc.s) }

func (sc *argScanner) skipSpace() {
	for sc.i < len(sc.s) && isSpace(sc.s[sc.i]) {
		sc.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// word reads up to the next space outside {{ }}.
func (sc *argScanner) word() (string, int) {
	sc.skipSpace()
	start := sc.i
	for sc.i < len(sc.s) && !isSpace(sc.s[sc.i]) {
		if strings.HasPrefix(sc.s[sc.i:], "{{") {
			if k := strings.Index(sc.s[sc.i+2:], "}}"); k >= 0 {
				sc.i += k + 4
				continue
			}
			sc.i = len(sc.s)
			break
		}
		sc.i++
	}
	return sc.s[start:sc.i], start
}

func (sc *argScanner) peekWord() string {
	save := sc.i
	w, _ := sc.word()
	sc.i = save
	return w
}

// name reads an option name after ":".
func (sc *argScanner) name() string {
	start := sc.i
	for sc.i < len(sc.s) && isWordChar(sc.s[sc.i]) {
		sc.i++
	}
	return sc.s[start:sc.i]
}

// value reads an option's value: the next word, unless that is an option.
func (sc *argScanner) value() (string, int) {
	save := sc.i
	sc.skipSpace()
	if sc.done() || sc.s[sc.i] == ':' {
		sc.i = save
		return "", save
	}
	return sc.word()
}

// untilOption reads up to the next " :option" outside {{ }}, for :body.
func (sc *argScanner) untilOption() (string, int) {
	sc.skipSpace()
	start := sc.i
	for sc.i < len(sc.s) {
		if strings.HasPrefix(sc.s[sc.i:], "{{") {
			if k := strings.Index(sc.s[sc.i+2:], "}}"); k >= 0 {
				sc.i += k + 4
				continue
			}
		}
		if sc.s[sc.i] == ':' && sc.i > start && isSpace(sc.s[sc.i-1]) {
			j := sc.i + 1
			for j < len(sc.s) && isWordChar(sc.s[j]) {
				j++
			}
			if slices.Contains(ccOptions, sc.s[sc.i+1:j]) && (j == len(sc.s) || isSpace(sc.s[j])) {
				break
			}
		}
		sc.i++
	}
	return strings.TrimSpace(sc.s[start:sc.i]), start
}

// jsonObject reads a balanced {...} with JSON strings, or returns "".
func (sc *argScanner) jsonObject() (string, int) {
	start := sc.i
	if sc.done() || sc.s[sc.i] != '{' {
		return "", start
	}
	depth, inString := 0, false
	for ; sc.i < len(sc.s); sc.i++ {
		c := sc.s[sc.i]
		switch {
		case inString && c == '\\':
			sc.i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				sc.i++
				return sc.s[start:sc.i], start
			}
		}
	}
	return "", start
}
