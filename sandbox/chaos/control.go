package chaos

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxConfigBytes bounds a PUT /config body.
const maxConfigBytes = 64 << 10

// ControlHandler is the control API of c, meant for a loopback listener of its own:
//
//	GET  /config           the configuration as JSON (durations as "20ms")
//	PUT  /config           overlay the JSON members sent on the configuration; 400 if invalid
//	GET  /stats            counters per service
//	POST /reset            start random streams, throttle buckets and counters over
//	GET  /clock            the sandbox clock
//	POST /clock/advance?d= move the sandbox clock forward (tokens expire, buckets refill)
//
// Errors are {"error": "..."}. The handler only answers loopback callers (see LoopbackOnly).
func ControlHandler(c *Controller) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /config", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, c.Config())
	})
	mux.HandleFunc("PUT /config", func(w http.ResponseWriter, r *http.Request) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConfigBytes))
		if err != nil {
			WriteError(w, http.StatusRequestEntityTooLarge, "the configuration must be at most 64 KiB")
			return
		}
		cfg := c.Config()
		if err := json.Unmarshal(data, &cfg); err != nil {
			WriteError(w, http.StatusBadRequest, "invalid configuration: "+err.Error())
			return
		}
		if err := c.SetConfig(cfg); err != nil {
			WriteError(w, http.StatusBadRequest, "invalid configuration: "+err.Error())
			return
		}
		WriteJSON(w, http.StatusOK, c.Config())
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, c.Stats())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		c.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /clock", func(w http.ResponseWriter, r *http.Request) {
		writeClock(w, c.Now())
	})
	mux.HandleFunc("POST /clock/advance", func(w http.ResponseWriter, r *http.Request) {
		d, err := time.ParseDuration(r.URL.Query().Get("d"))
		if err != nil || d < 0 {
			WriteError(w, http.StatusBadRequest, "d must be a positive duration such as 90m or 1h30m")
			return
		}
		writeClock(w, c.Advance(d))
	})
	return LoopbackOnly(mux)
}

func writeClock(w http.ResponseWriter, now time.Time) {
	WriteJSON(w, http.StatusOK, map[string]string{"now": now.UTC().Format(time.RFC3339Nano)})
}

// LoopbackOnly answers 403 unless the request comes from a loopback address, names a loopback
// host (defeating DNS rebinding) and, if a browser sent it, comes from a loopback origin
// (defeating cross-site requests from a web page the operator has open).
func LoopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil || !isLoopbackHost(host) || !isLoopbackHost(hostOnly(r.Host)) {
			WriteError(w, http.StatusForbidden, "the control API answers loopback clients only")
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			u, err := url.Parse(o)
			if err != nil || !isLoopbackHost(u.Hostname()) {
				WriteError(w, http.StatusForbidden, "the control API does not answer cross-origin requests")
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// WriteJSON writes v as the JSON body of a control API answer.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// WriteError writes {"error": msg} with status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}
