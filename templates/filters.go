package templates

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/osteele/liquid/values"
)

// addBrazeFilters registers Braze's filters beyond standard Liquid, and
// replaces standard ones that misbehave in osteele/liquid v1.6.0.
func (e *Engine) addBrazeFilters() {
	e.addFilter("date", e.dateFilter)
	e.addFilter("time_zone", e.timeZoneFilter)
	e.addFilter("json_escape", jsonEscape)
	e.addFilter("url_escape", func(v any) string { return urlEscape(liquidString(v), false) })
	e.addFilter("url_param_escape", func(v any) string { return urlEscape(liquidString(v), true) })
	e.addFilter("number_with_delimiter", numberWithDelimiter)
	e.addFilter("md5", hexDigest(md5.New))
	e.addFilter("sha1", hexDigest(sha1.New))
	e.addFilter("sha2", sha2)
	e.addFilter("base64_encode", func(v any) string {
		return base64.StdEncoding.EncodeToString([]byte(liquidString(v)))
	})
	for _, name := range []string{"hmac_sha256", "hmac_sha256_hex"} {
		e.addFilter(name, hmacFilter(sha256.New, hex.EncodeToString))
	}
	e.addFilter("hmac_sha256_base64", hmacFilter(sha256.New, base64.StdEncoding.EncodeToString))
	for _, name := range []string{"hmac_sha1", "hmac_sha1_hex"} {
		e.addFilter(name, hmacFilter(sha1.New, hex.EncodeToString))
	}
	e.addFilter("hmac_sha1_base64", hmacFilter(sha1.New, base64.StdEncoding.EncodeToString))
	e.addFilter("hmac_sha512", hmacFilter(sha512.New, hex.EncodeToString))
	e.addFilter("json_parse", jsonParse)
	e.addFilter("as_json_string", asJSONString)
	e.addFilter("uniq", uniqFilter)
	e.addFilter("property_accessor", func(v, key any) any {
		return values.ValueOf(v).IndexValue(values.ValueOf(key)).Interface()
	})
}

var errDivisionByZero = errors.New("division by zero")

// jsonParse decodes a JSON string into objects and arrays; anything that is
// not JSON is nil.
func jsonParse(v any) any {
	var out any
	if json.Unmarshal([]byte(liquidString(v)), &out) != nil {
		return nil
	}
	return out
}

// asJSONString encodes a value as JSON, without escaping HTML characters.
func asJSONString(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// jsonEscape escapes a string for use inside a JSON string literal.
func jsonEscape(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(liquidString(v)); err != nil {
		return ""
	}
	s := strings.TrimSuffix(b.String(), "\n")
	return s[1 : len(s)-1]
}

// urlEscape percent-encodes every byte except letters, digits and
// -_.!~*'();/?:@&=+$,[] (Ruby's URI.escape, which Braze's url_escape is);
// url_param_escape encodes "&" too.
func urlEscape(s string, param bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("-_.!~*'();/?:@&=+$,[]", c) >= 0
		if keep && !(param && c == '&') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

var decimalRE = regexp.MustCompile(`^-?\d+(\.\d+)?$`)

// numberWithDelimiter groups the integer digits of a number by thousands:
// 1234567.891 → "1,234,567.891", 1234567.0 → "1,234,567". An optional argument
// replaces the ",". A value that is not a number is returned unchanged.
func numberWithDelimiter(v any, sep any) any {
	delim := ","
	if sep != nil {
		delim = liquidString(sep)
	}
	var s string
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		s = strings.TrimSpace(x)
	case json.Number:
		s = x.String()
	case float64:
		s = formatNumber(x)
	case float32:
		s = formatNumber(float64(x))
	default:
		rv := reflect.ValueOf(v)
		switch {
		case rv.CanInt():
			s = strconv.FormatInt(rv.Int(), 10)
		case rv.CanUint():
			s = strconv.FormatUint(rv.Uint(), 10)
		default:
			return v
		}
	}
	if !decimalRE.MatchString(s) {
		return v
	}
	sign := ""
	if s[0] == '-' {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(delim)
		}
		b.WriteRune(c)
	}
	b.WriteString(frac)
	return b.String()
}

func hexDigest(h func() hash.Hash) func(any) string {
	return func(v any) string {
		d := h()
		d.Write([]byte(liquidString(v)))
		return hex.EncodeToString(d.Sum(nil))
	}
}

// sha2 is the hex SHA-2 digest, of 256 bits unless the argument asks for 224,
// 384 or 512.
func sha2(v any, bits any) (string, error) {
	n := 256
	if bits != nil {
		var err error
		if n, err = strconv.Atoi(strings.TrimSpace(liquidString(bits))); err != nil {
			n = 0
		}
	}
	var h hash.Hash
	switch n {
	case 224:
		h = sha256.New224()
	case 256:
		h = sha256.New()
	case 384:
		h = sha512.New384()
	case 512:
		h = sha512.New()
	default:
		return "", fmt.Errorf("sha2: bits must be 224, 256, 384 or 512, not %s", liquidString(bits))
	}
	h.Write([]byte(liquidString(v)))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hmacFilter is an HMAC of the input keyed by the argument, encoded by enc.
func hmacFilter(h func() hash.Hash, enc func([]byte) string) func(v, key any) string {
	return func(v, key any) string {
		m := hmac.New(h, []byte(liquidString(key)))
		m.Write([]byte(liquidString(v)))
		return enc(m.Sum(nil))
	}
}

// uniqFilter removes repeated elements (osteele/liquid's uniq panics on nil).
func uniqFilter(a []any) []any {
	out := make([]any, 0, len(a))
	seen := make(map[any]bool, len(a))
	for _, x := range a {
		switch x.(type) {
		case nil, string, bool, int, int64, float64:
			if seen[x] {
				continue
			}
			seen[x] = true
		default:
			if slices.ContainsFunc(out, func(y any) bool { return reflect.DeepEqual(x, y) }) {
				continue
			}
		}
		out = append(out, x)
	}
	return out
}
