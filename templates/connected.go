package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/osteele/liquid/render"
)

// :cache_max_age is at least 5 minutes and at most 4 hours, as in Braze.
const (
	minCacheMaxAge = 5 * time.Minute
	maxCacheMaxAge = 4 * time.Hour
)

// defaultSaveName is where a JSON response is saved when the tag has no :save.
const defaultSaveName = "connected"

// ccSpec is a parsed {% connected_content %} tag. The URL, body and header
// values are templates rendered with the bindings of the moment.
type ccSpec struct {
	url         *Template
	method      string
	body        *Template
	headers     []ccHeader
	auth        string
	contentType string
	save        string
	maxAge      time.Duration
	maxAgeSet   bool
	noCache     bool
	retry       bool
}

type ccHeader struct {
	name  string
	value *Template
}

// ccOptions are the options the tag accepts; a :body runs up to the next one.
var ccOptions = []string{"save", "method", "body", "headers", "basic_auth", "content_type", "cache_max_age", "cache", "no_cache", "retry"}

// parseConnected parses a connected_content tag's arguments:
//
//	URL [:save name] [:method get|post] [:body text] [:headers {json}]
//	    [:basic_auth name] [:content_type type] [:cache_max_age seconds]
//	    [:no_cache] [:retry]
//
// Errors carry offsets into args.
func (e *Engine) parseConnected(args string) (*ccSpec, []posError) {
	spec := &ccSpec{method: "GET", maxAge: e.cc.opts.DefaultCacheMaxAge}
	var errs []posError
	sc := &argScanner{s: args}
	rawURL, at := sc.word()
	if rawURL == "" {
		return nil, []posError{{0, "connected_content needs a URL"}}
	}
	lower := strings.ToLower(rawURL)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") && !strings.HasPrefix(rawURL, "{{") {
		errs = append(errs, posError{at, "connected_content URL must start with http:// or https://"})
	}
	spec.url, errs = e.subTemplate(rawURL, at, errs)
	for {
		sc.skipSpace()
		if sc.done() {
			break
		}
		start := sc.i
		if args[sc.i] != ':' {
			errs = append(errs, posError{start, fmt.Sprintf("expected an option such as :save, found %q", sc.peekWord())})
			break
		}
		sc.i++
		name := sc.name()
		switch name {
		case "no_cache":
			spec.noCache = true
		case "retry":
			spec.retry = true
		case "body":
			body, bat := sc.untilOption()
			spec.body, errs = e.subTemplate(body, bat, errs)
		case "headers":
			var ok bool
			if errs, ok = e.parseHeaders(sc, spec, start, errs); !ok {
				return spec, errs
			}
		default:
			if !slices.Contains(ccOptions, name) {
				errs = append(errs, posError{start, fmt.Sprintf("unknown connected_content option :%s", name)})
				sc.value()
				continue
			}
			v, vat := sc.value()
			if v == "" {
				errs = append(errs, posError{start, fmt.Sprintf(":%s needs a value", name)})
				continue
			}
			errs = e.setOption(spec, name, v, vat, errs)
		}
	}
	return spec, errs
}

func (e *Engine) setOption(spec *ccSpec, name, v string, at int, errs []posError) []posError {
	switch name {
	case "save":
		if !isLiquidIdent(v) {
			return append(errs, posError{at, fmt.Sprintf(":save needs a variable name, not %q", v)})
		}
		spec.save = v
	case "method":
		m := strings.ToUpper(v)
		if m != "GET" && m != "POST" {
			return append(errs, posError{at, fmt.Sprintf(":method must be get or post, not %q", v)})
		}
		spec.method = m
	case "basic_auth":
		if _, ok := e.cc.opts.BasicAuth[v]; !ok {
			return append(errs, posError{at, fmt.Sprintf("unknown :basic_auth credentials %q", v)})
		}
		spec.auth = v
	case "content_type":
		spec.contentType = v
	case "cache_max_age", "cache":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return append(errs, posError{at, fmt.Sprintf(":%s needs a number of seconds, not %q", name, v)})
		}
		spec.maxAge = min(max(time.Duration(min(n, 1<<30))*time.Second, minCacheMaxAge), maxCacheMaxAge)
		spec.maxAgeSet = true
	}
	return errs
}

// parseHeaders reads :headers {"Name": "value with {{ liquid }}", ...}; false
// means the rest of the arguments cannot be read.
func (e *Engine) parseHeaders(sc *argScanner, spec *ccSpec, start int, errs []posError) ([]posError, bool) {
	sc.skipSpace()
	raw, at := sc.jsonObject()
	if raw == "" {
		return append(errs, posError{start, ":headers needs a JSON object"}), false
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return append(errs, posError{at, ":headers is not a valid JSON object: " + err.Error()}), false
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := m[k]
		s, ok := v.(string)
		if !ok {
			if v == nil {
				continue
			}
			s = liquidString(v)
		}
		var t *Template
		t, errs = e.subTemplate(s, at+max(0, strings.Index(raw, s)), errs)
		spec.headers = append(spec.headers, ccHeader{name: k, value: t})
	}
	return errs, true
}

// subTemplate parses a template inside the tag's arguments, at offset at;
// its errors are moved to that offset.
func (e *Engine) subTemplate(src string, at int, errs []posError) (*Template, []posError) {
	t, serrs := e.parse(src)
	if len(serrs) > 0 {
		li := newLineIndex(src)
		for _, se := range serrs {
			errs = append(errs, posError{at + li.offset(se.Line, se.Column), se.Message})
		}
		return nil, errs
	}
	return t, errs
}

// vars is the set of variables a connected_content tag's URL, body and
// header values read.
func (spec *ccSpec) vars() VarSet {
	set := varsListed
	for _, t := range []*Template{spec.url, spec.body} {
		if t != nil {
			set |= t.vars
		}
	}
	for _, h := range spec.headers {
		if h.value != nil {
			set |= h.value.vars
		}
	}
	return set
}

// checkConnected validates a connected_content tag at parse time, reporting
// errors at their place in the source.
func (p *parseState) checkConnected(r region) {
	if r.body == "" {
		p.errorAt(r.start, "connected_content needs a URL")
		return
	}
	spec, errs := p.e.parseConnected(r.body)
	for _, pe := range errs {
		p.errorAt(r.bodyStart+pe.off, pe.msg)
	}
	if spec != nil && len(errs) == 0 {
		p.connVars |= spec.vars()
	}
}

// connectedTag compiles {% connected_content %} for osteele/liquid (the
// arguments were validated by Parse).
func (e *Engine) connectedTag(args string) (func(io.Writer, render.Context) error, error) {
	spec, errs := e.parseConnected(strings.TrimSpace(args))
	if len(errs) > 0 {
		return nil, errors.New(errs[0].msg)
	}
	return func(w io.Writer, rc render.Context) error {
		b := rc.Bindings()
		st, _ := b[stateKey].(*renderState)
		if st == nil {
			st = newRenderState(nil)
		}
		req, err := spec.request(b)
		if err != nil {
			e.cc.failed(req, "", 0, 0, err, 0)
			return nil
		}
		res := e.cc.call(st, req)
		if res == nil {
			return nil
		}
		switch {
		case spec.save != "":
			rc.Set(spec.save, res.value)
		case res.isJSON:
			rc.Set(defaultSaveName, res.value)
		default:
			_, err := io.WriteString(w, res.value.(string))
			return err
		}
		return nil
	}, nil
}

// request renders the tag's URL, body and headers with the current bindings.
func (s *ccSpec) request(b map[string]any) (*ccRequest, error) {
	req := &ccRequest{method: s.method, auth: s.auth, contentType: s.contentType,
		maxAge: s.maxAge, maxAgeSet: s.maxAgeSet, noCache: s.noCache, retry: s.retry}
	u, err := s.url.renderBindings(b)
	if err != nil {
		return req, fmt.Errorf("URL: %w", err)
	}
	req.url = strings.TrimSpace(u)
	if pu, err := url.Parse(req.url); err == nil {
		req.host = pu.Hostname()
	}
	if s.body != nil {
		if req.body, err = s.body.renderBindings(b); err != nil {
			return req, fmt.Errorf("body: %w", err)
		}
		if isJSONType(s.contentType) {
			req.body = formToJSON(req.body)
		}
	}
	for _, h := range s.headers {
		v, err := h.value.renderBindings(b)
		if err != nil {
			return req, fmt.Errorf("header %s: %w", h.name, err)
		}
		req.headers = append(req.headers, [2]string{h.name, v})
	}
	return req, nil
}

func isJSONType(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/json")
}

// formToJSON turns a form body (key1=value1&key2=value2) into a JSON object
// of strings, as Braze does when :content_type is application/json; a body
// that is JSON already, or not a form, is returned as it is.
func formToJSON(body string) string {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" || json.Valid([]byte(trimmed)) || !strings.Contains(trimmed, "=") {
		return body
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, pair := range strings.Split(trimmed, "&") {
		k, v, _ := strings.Cut(pair, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || key == "" {
			return body
		}
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(key)
		vj, _ := json.Marshal(value)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.String()
}

// renderBindings renders a template inside a tag with the bindings of the
// moment (which already carry the render state).
func (t *Template) renderBindings(b map[string]any) (string, error) {
	if t.isStatic {
		return t.static, nil
	}
	if t.fast != nil {
		if s, ok := t.fast.render(b); ok {
			return s, nil
		}
	}
	return t.renderLiquid(b)
}
