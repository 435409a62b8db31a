package transport

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkOverhead compares a GET on loopback through the bare net/http transport with the
// same GET through Transport (limits on, no retries needed).
func BenchmarkOverhead(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"value":[]}`)
	}))
	defer srv.Close()
	cases := []struct {
		name string
		rt   func(base http.RoundTripper) http.RoundTripper
	}{
		{"base", func(base http.RoundTripper) http.RoundTripper { return base }},
		{"transport", func(base http.RoundTripper) http.RoundTripper { return New(base, Options{}) }},
		{"transport+rate", func(base http.RoundTripper) http.RoundTripper {
			return New(base, Options{RatePerSecond: 1e9, Burst: 1e9})
		}},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			base := &http.Transport{MaxIdleConnsPerHost: 64}
			defer base.CloseIdleConnections()
			c := &http.Client{Transport: bc.rt(base)}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Get(srv.URL + "/v1.0/users")
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
