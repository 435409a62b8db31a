package redact

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestHandlerMasksSecretsEverywhere(t *testing.T) {
	var r Redactor
	r.Add("s3cr3t-client-secret", "eyJ.access.token", "abc") // "abc" is too short to register
	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil))).With("preset", "token eyJ.access.token")
	log.Info("calling with s3cr3t-client-secret",
		"err", errors.New("refused eyJ.access.token"),
		slog.Group("req", "body", "client_secret=s3cr3t-client-secret"),
		"short", "abc", "n", 3)
	out := buf.String()
	for _, s := range []string{"s3cr3t-client-secret", "eyJ.access.token"} {
		if strings.Contains(out, s) {
			t.Errorf("secret %q leaked: %s", s, out)
		}
	}
	if got := strings.Count(out, Mask); got != 4 {
		t.Errorf("want 4 masks, got %d: %s", got, out)
	}
	if !strings.Contains(out, `"short":"abc"`) || !strings.Contains(out, `"n":3`) {
		t.Errorf("non-secret attributes changed: %s", out)
	}
}

func TestStringWithoutSecrets(t *testing.T) {
	var r *Redactor
	if got := r.String("plain"); got != "plain" {
		t.Fatalf("nil redactor changed text: %q", got)
	}
	var z Redactor
	if got := z.String("plain"); got != "plain" {
		t.Fatalf("empty redactor changed text: %q", got)
	}
}
