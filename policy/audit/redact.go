package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
)

// maxArgs bounds the stored arguments; larger ones are replaced by their size and digest.
const maxArgs = 16 << 10

// Redacted replaces the value of every argument whose name looks like a secret.
const Redacted = "[redacted]"

// secretName matches argument names whose values are never stored, whatever their content.
var secretName = regexp.MustCompile(`(?i)password|passwd|passphrase|secret|token|credential|api_?key|private_?key|^otp$|confirmation_?code`)

// RedactArgs renders args as compact JSON with secret-named fields replaced by Redacted and
// every string passed through redact (when not nil). nil args render as "null"; more than
// 16 KB renders as its size and SHA-256.
func RedactArgs(args any, redact func(string) string) (json.RawMessage, error) {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	out, err := json.Marshal(scrub(v, redact)) // map keys come out sorted: canonical
	if err != nil {
		return nil, err
	}
	if len(out) > maxArgs {
		sum := sha256.Sum256(out)
		return json.Marshal(map[string]any{"truncated": fmt.Sprintf("%d bytes", len(out)), "sha256": hex.EncodeToString(sum[:])})
	}
	return out, nil
}

func scrub(v any, redact func(string) string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if secretName.MatchString(k) {
				v[k] = Redacted
			} else {
				v[k] = scrub(x, redact)
			}
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = scrub(x, redact)
		}
		return v
	case string:
		return redact(v)
	}
	return v
}
