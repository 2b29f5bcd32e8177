// Package router is gwc's routing table: it maps a request's method and
// normalised path to the bundle operation that serves it, without
// allocating.
//
// # Paths
//
// Normalize is the gate every request path passes before lookup; the
// runtime routes, validates and forwards its output, never the raw path, so
// an upstream receives exactly the path that was routed. Normalize refuses
// (400):
//
//   - a path not starting with "/", or containing "?" or "#";
//   - "%2F", "%2f", "%5C" and "\" (an encoded "/" would route one way here
//     and another upstream);
//   - control bytes (0x00-0x1F, 0x7F), raw or encoded;
//   - "%" not followed by two hex digits;
//   - bytes that are not valid UTF-8 once decoded (overlong forms such as
//     "%C0%AE" and "%C0%AF", surrogates, stray continuation bytes);
//   - "." and ".." segments, raw or encoded ("%2e%2E"), also followed by
//     ";params" ("..;x": Tomcat and others strip those).
//
// It rewrites, so that each path has one spelling: percent-encoded
// unreserved characters (ALPHA DIGIT - . _ ~) are decoded ("%41" is "A");
// other escapes get upper-case hex ("%3a" is "%3A"); raw bytes outside
// RFC 3986's pchar (non-ASCII, space, quotes, "<>[]^`{|}") are encoded;
// runs of "/" are merged into one, as nginx does by default. Reserved
// characters keep their spelling: "%3A" and ":" are different paths. A path
// that is already canonical is returned as is, without allocating.
//
// # Matching
//
// Templates are split into segments on "/"; a segment is a sequence of
// literal and {param} parts ("pets", "{id}", "{Sid}.json", "{name}.{ext}",
// "v{major}"). Template literals are canonicalised as paths are, so a
// template's "é" matches a request's "%C3%A9". At each segment a static
// segment is tried first, then templated segments (more literal text
// first), then a whole-segment parameter; when a branch fails deeper the
// next one is tried, so "/a/static/x" and "/a/{p}/y" both route. Matching
// is per method: the most specific template routed for the request's
// method wins ("DELETE /users/me" reaches "DELETE /users/{id}" even when
// "GET /users/me" exists).
//
// A parameter never matches "" and never crosses "/". In a segment with
// several parameters each takes as much as it can: "{name}.{ext}" splits
// "a.tar.gz" at the last "." (name "a.tar", ext "gz"), as the regular
// expressions of gorilla/mux (used by kin-openapi) and Spring do.
// Parameter values are substrings of the path, still percent-encoded where
// Normalize kept an escape; decode them with url.PathUnescape.
//
// "/pets/" does not match "/pets" (no redirect). Methods are case
// sensitive ("get" is not GET). HEAD is served by the GET route when no
// HEAD route matches; the runtime then answers without a body. When
// templates match the path but none for the method, Lookup reports
// MethodNotAllowed and Allow gives the header value (every method routed
// for the path, HEAD wherever GET is); otherwise NotFound. Both become
// application/problem+json responses in the runtime.
package router
