package ads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// refreshingTokens hands out ACCESS_TOKEN-<n>, moving to the next n on Invalidate.
type refreshingTokens struct {
	mu          sync.Mutex
	n           int
	invalidated int
}

func (s *refreshingTokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &oauth2.Token{AccessToken: fmt.Sprintf("ACCESS_TOKEN-%d", s.n+1)}, nil
}

func (s *refreshingTokens) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.invalidated++
}

// reply is one scripted response, named by a fixture (see fixture).
type reply string

// script is a fake Customer Management service for either binding: each operation answers
// from its queue of fixtures (the last one repeats) and every request is recorded.
type script struct {
	t        *testing.T
	protocol string
	mu       sync.Mutex
	queues   map[string][]reply
	calls    []string // operation names in order
	bodies   map[string][]string
	tokens   []string
}

var restOps = map[string]string{"User/Query": "GetUser", "UserInvitation/Send": "SendUserInvitation",
	"User": "UpdateUser", "UsersInfo/Query": "GetUsersInfo"}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	op, token := strings.Trim(r.Header.Get("SOAPAction"), `"`), ""
	if s.protocol == ProtocolREST {
		op = restOps[strings.TrimPrefix(r.URL.Path, RESTPath)]
		if r.Method == http.MethodDelete {
			op = "DeleteUser"
		}
		token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	} else if _, after, ok := strings.Cut(string(raw), "<AuthenticationToken>"); ok {
		token, _, _ = strings.Cut(after, "<")
	}
	s.mu.Lock()
	s.calls = append(s.calls, op)
	s.bodies[op] = append(s.bodies[op], string(raw))
	s.tokens = append(s.tokens, token)
	q := s.queues[op]
	if len(q) == 0 {
		s.mu.Unlock()
		s.t.Errorf("unexpected %s call", op)
		w.WriteHeader(500)
		return
	}
	next := q[0]
	if len(q) > 1 {
		s.queues[op] = q[1:]
	}
	s.mu.Unlock()
	status, body := fixture(s.t, s.protocol, op, next)
	w.Header().Set("TrackingId", "track-"+op)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// fixture returns a response: "ok" is the operation's official example (SOAP) or derived
// sample (REST), "deleted" and "retitled" are GetUser variants, "109", "117", "209" faults.
func fixture(t *testing.T, protocol, op string, r reply) (int, []byte) {
	switch r {
	case "109", "117", "209":
		return faultFixture(t, protocol, string(r))
	}
	if protocol == ProtocolSOAP {
		body := string(shared(t, "examples/"+op+".response.xml"))
		switch r {
		case "deleted":
			body = strings.Replace(body, ">Active<", ">Deleted<", 1)
		case "retitled":
			body = strings.Replace(body, `<a:JobTitle i:nil="true"/>`, "<a:JobTitle>Boss</a:JobTitle>", 1)
		}
		return 200, []byte(body)
	}
	var body string
	switch op {
	case "GetUser":
		body = string(shared(t, "rest-samples/derived/getuser.response.DERIVED.json"))
	case "DeleteUser":
		body = "{}"
	case "UpdateUser":
		body = `{"LastModifiedTime":"2024-06-01T12:34:56.789"}`
	case "SendUserInvitation":
		body = `{"UserInvitationId":"40231"}`
	}
	switch r {
	case "deleted":
		body = strings.Replace(body, `"Active"`, `"Deleted"`, 1)
	case "retitled":
		body = strings.Replace(body, `"JobTitle": null`, `"JobTitle": "Boss"`, 1)
	}
	return 200, []byte(body)
}

func faultFixture(t *testing.T, protocol, code string) (int, []byte) {
	if protocol == ProtocolSOAP {
		file := map[string]string{"109": "Fault.AdApiFaultDetail.AuthenticationTokenExpired.xml",
			"117": "Fault.AdApiFaultDetail.CallRateExceeded.xml", "209": "Fault.ApiFault.TimestampNotMatch.xml"}[code]
		return 500, shared(t, "examples/"+file)
	}
	switch code {
	case "109":
		return 401, []byte(`{"TrackingId":"t-109","Type":"AdApiFaultDetail","Errors":[{"Code":109,"Detail":null,"ErrorCode":"AuthenticationTokenExpired","Message":"Authentication token expired."}]}`)
	case "117":
		return 429, shared(t, "rest-samples/derived/adapifaultdetail.http429.callrateexceeded.DERIVED.json")
	}
	return 400, []byte(`{"TrackingId":"t-209","Type":"ApiFault","OperationErrors":[{"Code":209,"Details":null,"Message":"The time stamp does not match."}]}`)
}

type clientEnv struct {
	client *Client
	script *script
	tokens *refreshingTokens
	logs   *bytes.Buffer
}

func newClientEnv(t *testing.T, protocol string, queues map[string][]reply, wait time.Duration) *clientEnv {
	t.Helper()
	s := &script{t: t, protocol: protocol, queues: maps.Clone(queues), bodies: map[string][]string{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tokens := &refreshingTokens{}
	c, err := New(Config{Protocol: protocol, Root: srv.URL, HTTPClient: srv.Client(), Tokens: tokens,
		DeveloperToken: "DEVELOPER_TOKEN", CustomerID: 789456,
		Options: Options{Logger: logger, RateLimitWait: wait}})
	if err != nil {
		t.Fatal(err)
	}
	return &clientEnv{client: c, script: s, tokens: tokens, logs: &logs}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestClientBehaviour(t *testing.T) {
	ctx := context.Background()
	getUser := func(c *Client) error { _, _, err := c.GetUser(ctx, 123456); return err }
	invite := func(c *Client) error {
		_, err := c.SendUserInvitation(ctx, UserInvitation{FirstName: "John", LastName: "Roe", Email: "john@example.com", CustomerID: 789456, RoleID: 16, Lcid: "EnglishUS"})
		return err
	}
	tests := []struct {
		name      string
		queues    map[string][]reply
		call      func(c *Client) error
		wantCode  int // 0: success
		wantCalls string
		check     func(t *testing.T, e *clientEnv)
	}{
		{"109 refreshes the token and retries once", map[string][]reply{"GetUser": {"109", "ok"}}, getUser, 0, "GetUser GetUser",
			func(t *testing.T, e *clientEnv) {
				if e.tokens.invalidated != 1 || strings.Join(e.script.tokens, " ") != "ACCESS_TOKEN-1 ACCESS_TOKEN-2" {
					t.Errorf("invalidated %d, tokens sent %v", e.tokens.invalidated, e.script.tokens)
				}
			}},
		{"109 twice is returned", map[string][]reply{"GetUser": {"109", "109"}}, getUser, CodeAuthenticationTokenExpired, "GetUser GetUser", nil},
		{"109 on SendUserInvitation retries: rejected before it ran", map[string][]reply{"SendUserInvitation": {"109", "ok"}}, invite, 0,
			"SendUserInvitation SendUserInvitation", nil},
		{"117 backs off and retries", map[string][]reply{"GetUser": {"117", "ok"}}, getUser, 0, "GetUser GetUser", nil},
		{"117 retries are bounded", map[string][]reply{"GetUser": {"117"}}, getUser, CodeCallRateExceeded, "GetUser GetUser GetUser", nil},
		{"117 never resends SendUserInvitation", map[string][]reply{"SendUserInvitation": {"117", "ok"}}, invite, CodeCallRateExceeded,
			"SendUserInvitation", nil},
		{"DeleteUser fetches the TimeStamp", map[string][]reply{"GetUser": {"ok"}, "DeleteUser": {"ok"}},
			func(c *Client) error { return c.DeleteUser(ctx, 123456, "") }, 0, "GetUser DeleteUser",
			func(t *testing.T, e *clientEnv) {
				if b := e.script.bodies["DeleteUser"][0]; !strings.Contains(b, "AAAAAKUiw9s=") && !strings.Contains(b, "AAAAAAB6ymM=") {
					t.Errorf("DeleteUser did not send the fetched TimeStamp: %s", b)
				}
			}},
		{"DeleteUser 209 on an active user retries once", map[string][]reply{"GetUser": {"ok"}, "DeleteUser": {"209", "ok"}},
			func(c *Client) error { return c.DeleteUser(ctx, 123456, "c3RhbGU=") }, 0, "DeleteUser GetUser DeleteUser", nil},
		{"DeleteUser 209 twice is returned", map[string][]reply{"GetUser": {"ok"}, "DeleteUser": {"209"}},
			func(c *Client) error { return c.DeleteUser(ctx, 123456, "c3RhbGU=") }, CodeTimestampNotMatch, "DeleteUser GetUser DeleteUser", nil},
		{"DeleteUser 209 on a deleted user is not retried", map[string][]reply{"GetUser": {"deleted"}, "DeleteUser": {"209", "ok"}},
			func(c *Client) error { return c.DeleteUser(ctx, 123456, "c3RhbGU=") }, CodeTimestampNotMatch, "DeleteUser GetUser", nil},
		{"UpdateUser of one field keeps the others", map[string][]reply{"GetUser": {"ok"}, "UpdateUser": {"ok"}},
			func(c *Client) error { _, err := c.UpdateUser(ctx, &User{ID: 123456, JobTitle: "Lead"}); return err }, 0, "GetUser UpdateUser",
			func(t *testing.T, e *clientEnv) {
				b := e.script.bodies["UpdateUser"][0]
				for _, want := range []string{"Lead", "Doe", "Jane", "EnglishUS", "Redmond", "TimeStamp"} {
					if !strings.Contains(b, want) {
						t.Errorf("UpdateUser body lacks %q: %s", want, b)
					}
				}
			}},
		{"UpdateUser that changes nothing sends nothing", map[string][]reply{"GetUser": {"ok"}},
			func(c *Client) error { _, err := c.UpdateUser(ctx, &User{ID: 123456, LastName: "Doe"}); return err }, 0, "GetUser", nil},
		{"UpdateUser 209 re-reads and retries once", map[string][]reply{"GetUser": {"ok"}, "UpdateUser": {"209", "ok"}},
			func(c *Client) error { _, err := c.UpdateUser(ctx, &User{ID: 123456, JobTitle: "Lead"}); return err }, 0,
			"GetUser UpdateUser GetUser UpdateUser", nil},
		{"UpdateUser 209 after someone set the same field is not retried", map[string][]reply{"GetUser": {"ok", "retitled"}, "UpdateUser": {"209", "ok"}},
			func(c *Client) error { _, err := c.UpdateUser(ctx, &User{ID: 123456, JobTitle: "Lead"}); return err }, CodeTimestampNotMatch,
			"GetUser UpdateUser GetUser", nil},
		{"UpdateUser with a stale full record is not retried", map[string][]reply{"GetUser": {"retitled"}, "UpdateUser": {"209", "ok"}},
			func(c *Client) error {
				u := officialUser()
				u.JobTitle = "Lead"
				_, err := c.UpdateUser(ctx, u)
				return err
			}, CodeTimestampNotMatch, "UpdateUser GetUser", nil},
	}
	for _, protocol := range []string{ProtocolSOAP, ProtocolREST} {
		for _, tt := range tests {
			t.Run(protocol+"/"+tt.name, func(t *testing.T) {
				e := newClientEnv(t, protocol, tt.queues, time.Millisecond)
				err := tt.call(e.client)
				switch {
				case tt.wantCode == 0 && err != nil:
					t.Fatalf("unexpected error: %v", err)
				case tt.wantCode != 0 && !HasCode(err, tt.wantCode):
					t.Fatalf("want fault %d, got %v", tt.wantCode, err)
				}
				if got := strings.Join(e.script.calls, " "); got != tt.wantCalls {
					t.Errorf("calls %q, want %q", got, tt.wantCalls)
				}
				if tt.check != nil {
					tt.check(t, e)
				}
				logs := e.logs.String()
				if !strings.Contains(logs, "tracking_id=") || strings.Contains(logs, `tracking_id=""`) ||
					strings.Contains(logs, "ACCESS_TOKEN") || strings.Contains(logs, "DEVELOPER_TOKEN") {
					t.Errorf("debug logs must carry the TrackingId and no token:\n%s", logs)
				}
			})
		}
	}
}

func TestThrottleWaitHonoursContext(t *testing.T) {
	for _, protocol := range []string{ProtocolSOAP, ProtocolREST} {
		t.Run(protocol, func(t *testing.T) {
			e := newClientEnv(t, protocol, map[string][]reply{"GetUser": {"117"}}, time.Hour)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, _, err := e.client.GetUser(ctx, 1)
			if !errors.Is(err, context.DeadlineExceeded) || !HasCode(err, CodeCallRateExceeded) {
				t.Fatalf("want the deadline and the 117 fault, got %v", err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("waited %v despite the context", time.Since(start))
			}
		})
	}
}

func TestErrorsCarryTrackingID(t *testing.T) {
	tests := []struct {
		name, protocol string
		status         int
		body           string
	}{
		{"soap fault", ProtocolSOAP, 500, ""},
		{"soap shape error", ProtocolSOAP, 200, `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><h:TrackingId xmlns:h="https://bingads.microsoft.com/Customer/v13">tid-7</h:TrackingId></s:Header><s:Body><GetUserResponse xmlns="https://bingads.microsoft.com/Customer/v13"/></s:Body></s:Envelope>`},
		{"rest fault", ProtocolREST, 400, `{"TrackingId":"tid-7","Type":"ApiFault","OperationErrors":[{"Code":210,"Details":null,"Message":"The entity does not exist."}]}`},
		{"rest shape error", ProtocolREST, 200, `{"User":null,"CustomerRoles":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("TrackingId", "tid-7")
				w.WriteHeader(tt.status)
				if tt.body == "" {
					_, _ = w.Write([]byte(strings.ReplaceAll(string(shared(t, "examples/Fault.ApiFault.TimestampNotMatch.xml")),
						"9d851d96-ad7d-4f3c-b8ac-0a65d1833300", "tid-7")))
					return
				}
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c, err := New(Config{Protocol: tt.protocol, Root: srv.URL, Tokens: &refreshingTokens{}, Options: Options{RateLimitWait: time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = c.GetUser(context.Background(), 1)
			if err == nil || !strings.Contains(err.Error(), "tid-7") {
				t.Fatalf("want an error with TrackingId tid-7, got %v", err)
			}
		})
	}
}

func TestNewProtocol(t *testing.T) {
	tests := []struct {
		protocol string
		want     string
	}{
		{"", "*ads.SOAPClient"}, {"soap", "*ads.SOAPClient"}, {"SOAP", "*ads.SOAPClient"}, {"rest", "*ads.RESTClient"}, {"grpc", ""},
	}
	for _, tt := range tests {
		c, err := New(Config{Protocol: tt.protocol, Root: "https://clientcenter.api.bingads.microsoft.com", Tokens: &refreshingTokens{}})
		if tt.want == "" {
			if err == nil {
				t.Errorf("%q: want an error", tt.protocol)
			}
			continue
		}
		if err != nil || fmt.Sprintf("%T", c.Service) != tt.want {
			t.Errorf("%q: got %T, %v; want %s", tt.protocol, c, err, tt.want)
		}
	}
	var _ Service = (*Client)(nil)
	var _ Service = (*SOAPClient)(nil)
	var _ Service = (*RESTClient)(nil)
}
