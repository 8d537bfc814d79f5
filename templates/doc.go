// Package templates renders Liquid in Braze's dialect: it parses a message's
// templates once per campaign version and renders a whole message object for
// one user in one call. It knows no provider: each channel builds its payload
// from the rendered object and enforces its own size limit.
//
// # Dialect
//
// Templates are Shopify Liquid as osteele/liquid implements it (if, elsif,
// else, unless, case/when, for with limit/offset/reversed and else, tablerow,
// break, continue, cycle, assign, capture, raw, comment, inline {% # %}
// comments; the standard filters) with Braze's additions:
//
//   - {{${first_name}}}, {{custom_attribute.${plan}}}, {{event_properties.${sku}}},
//     {{api_trigger_properties.${coupon}}}, {{most_recently_used_device.${model}}},
//     {{subscribed_state.${push}}}; a key that is not a plain identifier
//     ({{custom_attribute.${favorite color}}}) is looked up as ["favorite color"].
//   - {{ x }} inside a tag or an output stands for x, as Braze's documentation
//     writes it: {% if {{custom_attribute.${balance}}} > 0 %},
//     {% assign b = {{custom_attribute.${points}}} %}, {{ a | plus: {{b}} }}.
//   - {% echo x | f %}, the same as {{ x | f }}.
//   - x == blank, x != blank (nil, false, "", empty array or map) and
//     x == empty, x != empty, which osteele/liquid lacks.
//   - {% abort_message('reason') %} (also abort_message() and abort_message):
//     Render returns an *AbortError with the reason.
//   - {% connected_content URL :save name :method post :body … :headers {…}
//     :basic_auth name :content_type … :cache_max_age seconds :no_cache :retry %}.
//   - Filters: date (time.Time, Unix seconds, numeric and ISO 8601 strings,
//     'now', 'today'; strftime with %s), time_zone, json_escape, url_escape,
//     url_param_escape, number_with_delimiter, md5, sha1, sha2 (256, or 224,
//     384, 512), base64_encode, hmac_sha256 (hex; also hmac_sha256_hex,
//     hmac_sha256_base64, hmac_sha1, hmac_sha1_hex, hmac_sha1_base64,
//     hmac_sha512), json_parse, as_json_string and property_accessor; and the
//     Liquid 5 filters at_least, at_most and where.
//
// Standard filters that panic or differ from Shopify's in osteele/liquid
// v1.6.0 are replaced: slice (also arrays; out of range is empty), truncate,
// truncatewords, sort_natural (nil last), capitalize (downcases the rest),
// divided_by (a fractional dividend divides as a float), join and uniq.
//
// Outputs write values as Braze's Ruby Liquid does: a whole number without
// decimals or exponent (1234567, not 1.234567e+06), a UTC time as
// "2016-09-07 08:43:50 UTC", another time with its offset.
//
// A missing variable renders empty; default replaces nil, false and empty
// values. include is not supported (it would read files); nor are the liquid,
// increment and decrement tags.
//
// # Validation
//
// Parse reports, with 1-based line and column in the source as written:
// syntax errors in outputs and tag arguments, unknown tags, unknown filters
// (osteele/liquid would only find them at render time), unterminated "{{" and
// "{%" (which osteele/liquid would output as text), unclosed and stray blocks,
// clauses outside their block, break/continue/cycle outside a loop, bad
// connected_content options and unknown :basic_auth names, and literal ranges
// over 10,000 items. ParseObject reports them for every field, with its path.
//
// # Connected content
//
// Only http and https URLs whose host is on ConnectedOptions.AllowedHosts
// (exact, or "*.example.com" for subdomains) on port 80 or 443 are called;
// loopback hosts on any port only with AllowLoopback. The default client also
// refuses to connect to loopback (unless allowed), link-local, multicast and
// unspecified addresses. Redirects are not followed (a 3xx is a failure), as
// in Braze. As Braze, a GET sends Content-Type application/json, a POST
// application/x-www-form-urlencoded, both Accept */*; :content_type sets both
// headers and JSON-encodes a form body (a=1&b=2 → {"a":"1","b":"2"}); :headers
// come last. Each attempt has a timeout; a body over MaxBodyBytes is a failure;
// :retry retries network errors and 5xx up to MaxRetries attempts. GET
// responses (and POST responses when the tag has :cache_max_age) are cached
// per URL, headers, body and credentials name for :cache_max_age (at least
// 5 min, at most 4 h; default DefaultCacheMaxAge), unless :no_cache;
// concurrent renders share one call. Within one Render (or one Object.Render) a call is
// made once. A JSON object or array response is saved under :save (default
// "connected"); another 2xx body is saved as a string, or output in place when
// there is no :save. Any failure (refused host, bad URL, timeout, non-2xx,
// oversize) saves nothing and outputs nothing, so
// {% if offer == nil %}{% abort_message('no offer') %}{% endif %} works; it is
// logged with its host and status (never the URL's query or credentials) and
// reported through Metrics.
//
// # Speed and safety
//
// Templates are immutable after Parse and safe for concurrent Render. A
// template that is plain text and {{ a.b }} substitutions renders without
// osteele/liquid. Render recovers osteele/liquid's panics into errors, caps an
// output at 1 MiB and a render's loop iterations (nested loops together) at
// 1,000,000.
package templates
