package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestCLIErrorsAreOneActionableLine(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     string
	}{
		{"no command", nil, nil, exitUsage, "Usage:"},
		{"unknown command", []string{"serv"}, nil, exitUsage, `unknown command "serv"`},
		{"unknown flag", []string{"serve", "--sandbx"}, nil, exitUsage, "unknown flag -sandbx for 'msidm serve'"},
		{"stray argument", []string{"serve", "now"}, nil, exitUsage, `unexpected argument "now"`},
		{"missing credentials", []string{"serve"}, nil, exitError, "missing configuration: set MSIDM_TENANT_ID"},
		{"bad log level", []string{"serve", "--sandbox", "--log-level", "loud"}, nil, exitError, "--log-level"},
		{"bad toolset", []string{"serve", "--sandbox", "--toolsets", "mail"}, nil, exitError, `unknown toolset "mail"`},
		{"public listener without token", []string{"serve", "--sandbox", "--http", "0.0.0.0:0"}, nil, exitError, "MSIDM_HTTP_TOKEN"},
		{"unreachable graph", []string{"serve", "--toolsets", "entra"}, map[string]string{
			"MSIDM_TENANT_ID": "t", "MSIDM_CLIENT_ID": "c", "MSIDM_CLIENT_SECRET": "secret-value-123",
			"MSIDM_AUTHORITY_URL": "http://127.0.0.1:1", "MSIDM_GRAPH_URL": "http://127.0.0.1:1",
		}, exitError, "check MSIDM_AUTHORITY_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"MSIDM_TENANT_ID", "MSIDM_CLIENT_ID", "MSIDM_CLIENT_SECRET", "MSIDM_ADS_DEVELOPER_TOKEN",
				"MSIDM_ADS_REFRESH_TOKEN", "MSIDM_ADS_CUSTOMER_ID", "MSIDM_HTTP_TOKEN", "MSIDM_AUTHORITY_URL", "MSIDM_GRAPH_URL"} {
				t.Setenv(k, tt.env[k])
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errb.String())
			}
			if !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("stderr %q does not contain %q", errb.String(), tt.want)
			}
			if tt.name != "no command" && strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 {
				t.Errorf("error is not one line: %q", errb.String())
			}
			for _, bad := range []string{"panic", "goroutine ", "secret-value-123"} {
				if strings.Contains(errb.String(), bad) {
					t.Errorf("stderr contains %q: %s", bad, errb.String())
				}
			}
		})
	}
}

func TestVersionAndTools(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"version"}, nil, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "msidm ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"tools"}, nil, &out, &errb); code != 0 {
		t.Fatalf("tools exit %d", code)
	}
	for _, name := range []string{"list_ads_users", "list_entra_users"} {
		if !strings.Contains(out.String(), name) {
			t.Errorf("tools output lacks %s:\n%s", name, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"tools", "--markdown"}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "| `list_entra_users` | entra | read | readOnly,idempotent |") {
		t.Fatalf("markdown: %d\n%s", code, out.String())
	}
}
