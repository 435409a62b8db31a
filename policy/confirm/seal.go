package confirm

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"sync"
	"time"

	"github.com/msidm/msidm/policy"
)

// ParseKey decodes MSIDM_STATE_KEY: 32 bytes as 64 hex digits or base64 (standard or URL
// alphabet, padded or not).
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				break
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s must be 32 random bytes as base64 or 64 hex digits (for example `openssl rand -base64 32`)", EnvStateKey)
}

// keys are independent subkeys derived from the master key, one per purpose, so that a
// value signed for one purpose (a CSRF token) never verifies for another (a code).
type keys struct {
	state   cipher.AEAD // seals elicitation state
	code    []byte      // confirmation codes
	csrf    []byte      // approval page forms
	session []byte      // approver sign-in cookie
}

func deriveKeys(master []byte) (keys, error) {
	sub := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("msidm/confirm/" + label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(sub("state"))
	if err != nil {
		return keys{}, fmt.Errorf("confirm: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return keys{}, fmt.Errorf("confirm: %w", err)
	}
	return keys{state: aead, code: sub("code"), csrf: sub("csrf"), session: sub("session")}, nil
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

func randomID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("confirm: crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Callers: who is asking, as bound into every confirmation.

type callerKey struct{}

// WithCaller returns a context carrying the caller's identity; the HTTP layer sets it with
// mcp-go's WithHTTPContextFunc (HTTPCaller of the bearer token).
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// CallerFromContext returns the caller set by WithCaller.
func CallerFromContext(ctx context.Context) (string, bool) {
	c, ok := ctx.Value(callerKey{}).(string)
	return c, ok && c != ""
}

// StdioCaller identifies the operator of a stdio server: "stdio:<os user>".
func StdioCaller() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	return "stdio:" + name
}

// HTTPCaller identifies an HTTP caller by its bearer token without keeping the token:
// "http:" + the first 16 hex digits of its SHA-256, or "http:anonymous" without one.
func HTTPCaller(bearer string) string {
	if bearer == "" {
		return "http:anonymous"
	}
	sum := sha256.Sum256([]byte(bearer))
	return "http:" + hex.EncodeToString(sum[:8])
}

func (c *Confirmer) callerOf(ctx context.Context) string {
	if caller, ok := CallerFromContext(ctx); ok {
		return caller
	}
	return c.defaultCaller
}

// The binding: what a confirmation is for.

// reservedArgs carry the confirmation itself and are not part of the call.
var reservedArgs = []string{ArgApprovalID, ArgConfirmationCode}

type binding struct {
	Tool    string             `json:"tool"`
	Effect  string             `json:"effect"`
	Args    json.RawMessage    `json:"args"`
	Summary string             `json:"summary"`
	Target  string             `json:"target"`
	Targets []policy.Principal `json:"targets"`
	Steps   []policy.Step      `json:"steps"`
	Caller  string             `json:"caller"`
}

// bindingDigest is the hex SHA-256 of the canonical JSON of {tool, args, plan, caller}.
// Canonical: arguments are re-encoded with sorted object keys and exact numbers, and the
// reserved confirmation arguments are dropped.
func bindingDigest(plan policy.Plan, caller string) (string, error) {
	args, err := canonicalArgs(plan.Args)
	if err != nil {
		return "", fmt.Errorf("confirm: arguments of %s: %w", plan.Tool, err)
	}
	b, err := json.Marshal(binding{
		Tool: plan.Tool, Effect: plan.Effect.String(), Args: args, Summary: plan.Summary,
		Target: plan.Target, Targets: plan.Targets, Steps: plan.Steps, Caller: caller,
	})
	if err != nil {
		return "", fmt.Errorf("confirm: binding of %s: %w", plan.Tool, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func canonicalArgs(args any) (json.RawMessage, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if m, ok := v.(map[string]any); ok {
		for _, k := range reservedArgs {
			delete(m, k)
		}
	}
	return json.Marshal(v) // maps marshal with sorted keys
}

// Sealed elicitation state: it travels through the client, which must not read or forge it.

type sealedState struct {
	V           int    `json:"v"`
	ID          string `json:"id"` // single-use nonce
	Tool        string `json:"tool"`
	Digest      string `json:"digest"`
	Target      string `json:"target"`
	Caller      string `json:"caller"`
	Fingerprint string `json:"fp"`
	Expires     int64  `json:"exp"` // Unix milliseconds
}

const stateAAD = "msidm/confirm/elicitation/v1"

var errBadState = errors.New("the confirmation state is missing or has been tampered with")

func (c *Confirmer) seal(st sealedState) string {
	plain, err := json.Marshal(st)
	if err != nil {
		panic("confirm: marshal sealed state: " + err.Error()) // plain strings and ints
	}
	nonce := make([]byte, c.keys.state.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("confirm: crypto/rand failed: " + err.Error())
	}
	return "v1." + base64.RawURLEncoding.EncodeToString(c.keys.state.Seal(nonce, nonce, plain, []byte(stateAAD)))
}

func (c *Confirmer) open(token string) (sealedState, error) {
	var st sealedState
	body, ok := strings.CutPrefix(token, "v1.")
	if !ok {
		return st, errBadState
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	n := c.keys.state.NonceSize()
	if err != nil || len(raw) < n {
		return st, errBadState
	}
	plain, err := c.keys.state.Open(nil, raw[:n], raw[n:], []byte(stateAAD))
	if err != nil {
		return st, errBadState
	}
	if err := json.Unmarshal(plain, &st); err != nil || st.V != 1 || st.ID == "" {
		return st, errBadState
	}
	return st, nil
}

// spentSet remembers used single-use ids until they expire. It is per process: replicas
// behind a load balancer each keep their own (see the package documentation).
type spentSet struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func newSpentSet() *spentSet { return &spentSet{m: make(map[string]time.Time)} }

// use marks id used and reports whether it was unused.
func (s *spentSet) use(id string, expires, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, exp := range s.m {
		if now.After(exp) {
			delete(s.m, k)
		}
	}
	if _, ok := s.m[id]; ok {
		return false
	}
	s.m[id] = expires
	return true
}
