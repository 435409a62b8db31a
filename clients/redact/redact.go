// Package redact keeps secrets out of logs and errors. Every secret msidm learns (client
// secret, developer token, refresh and access tokens, the HTTP bearer token) is registered
// with a Redactor; a slog handler wrapper replaces any registered value in messages and
// attributes before the line is written, whatever code path produced it.
package redact

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Mask replaces a secret in output.
const Mask = "[REDACTED]"

// minLen avoids masking short, common strings that are not secrets in practice.
const minLen = 6

// Redactor holds the secret values to hide. The zero value is ready to use.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]struct{}
	rep     *strings.Replacer
}

// Add registers secret values; empty and very short values are ignored.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.secrets == nil {
		r.secrets = map[string]struct{}{}
	}
	changed := false
	for _, s := range secrets {
		if len(s) < minLen {
			continue
		}
		if _, ok := r.secrets[s]; !ok {
			r.secrets[s] = struct{}{}
			changed = true
		}
	}
	if changed {
		pairs := make([]string, 0, 2*len(r.secrets))
		for s := range r.secrets {
			pairs = append(pairs, s, Mask)
		}
		r.rep = strings.NewReplacer(pairs...)
	}
}

// String returns s with every registered secret masked.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	rep := r.rep
	r.mu.RUnlock()
	if rep == nil {
		return s
	}
	return rep.Replace(s)
}

// Handler wraps h so that every record's message and attribute values are redacted.
func (r *Redactor) Handler(h slog.Handler) slog.Handler { return &handler{next: h, r: r} }

type handler struct {
	next slog.Handler
	r    *Redactor
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *handler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		g := v.Group()
		as := make([]slog.Attr, len(g))
		for i, x := range g {
			as[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(as...)}
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	default:
		return a
	}
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &handler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{next: h.next.WithGroup(name), r: h.r}
}
