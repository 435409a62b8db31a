package transport

import (
	"context"
	"net/http"
)

type idempotentKey struct{}

// WithIdempotent marks requests made with ctx as safe to repeat after a 503, 504 or network
// error although their method is not idempotent by definition: a Graph PATCH that sets
// absolute values, or a SOAP read sent as POST.
func WithIdempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

// Idempotent reports whether req may be repeated when it may already have been executed:
// GET, HEAD, OPTIONS, TRACE, PUT and DELETE by definition (RFC 9110 §9.2.2), a request with an
// Idempotency-Key header, or one whose context was marked with WithIdempotent. POST and PATCH
// are not, by default.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete, "":
		return true
	}
	if req.Header.Get("Idempotency-Key") != "" {
		return true
	}
	v, _ := req.Context().Value(idempotentKey{}).(bool)
	return v
}
