package main

import (
	"strings"
	"testing"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigResolve(t *testing.T) {
	full := map[string]string{
		"MSIDM_TENANT_ID": "t", "MSIDM_CLIENT_ID": "c", "MSIDM_CLIENT_SECRET": "very-secret-value",
		"MSIDM_ADS_DEVELOPER_TOKEN": "dev-token-value", "MSIDM_ADS_REFRESH_TOKEN": "refresh-token-value",
		"MSIDM_ADS_CUSTOMER_ID": "251000101",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name         string
		env          map[string]string
		entra, ads   bool
		wantErr      []string
		wantGraphURL string
	}{
		{"complete", full, true, true, nil, "https://graph.microsoft.com"},
		{"nothing set", map[string]string{}, true, true, []string{"MSIDM_TENANT_ID", "MSIDM_CLIENT_SECRET", "MSIDM_ADS_DEVELOPER_TOKEN", "--sandbox", "--toolsets"}, ""},
		{"entra only needs entra", map[string]string{"MSIDM_TENANT_ID": "t", "MSIDM_CLIENT_ID": "c", "MSIDM_CLIENT_SECRET": "s3cr3t-value"}, true, false, nil, ""},
		{"missing secret", with("MSIDM_CLIENT_SECRET", ""), true, true, []string{"MSIDM_CLIENT_SECRET"}, ""},
		{"usgov cloud", with("MSIDM_CLOUD", "usgov"), true, true, nil, "https://graph.microsoft.us"},
		{"unknown cloud", with("MSIDM_CLOUD", "mars"), true, true, []string{"MSIDM_CLOUD", "public, usgov or china"}, ""},
		{"graph override", with("MSIDM_GRAPH_URL", "http://127.0.0.1:9"), true, true, nil, "http://127.0.0.1:9"},
		{"bad ads environment", with("MSIDM_ADS_ENVIRONMENT", "prod"), true, true, []string{"MSIDM_ADS_ENVIRONMENT", "production or sandbox"}, ""},
		{"rest", with("MSIDM_ADS_PROTOCOL", "rest"), true, true, nil, ""},
		{"bad protocol", with("MSIDM_ADS_PROTOCOL", "grpc"), true, true, []string{"MSIDM_ADS_PROTOCOL", "soap", "rest"}, ""},
		{"certificate instead of secret", func() map[string]string {
			m := with("MSIDM_CLIENT_CERT", "/x.pem")
			delete(m, "MSIDM_CLIENT_SECRET")
			return m
		}(), true, false, nil, ""},
		{"managed identity needs no secret", map[string]string{"MSIDM_MANAGED_IDENTITY": "true"}, true, false, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadEnv(envOf(tt.env))
			if err == nil {
				err = c.resolve(tt.entra, tt.ads)
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if tt.wantGraphURL != "" && c.GraphURL != tt.wantGraphURL {
					t.Errorf("GraphURL = %s", c.GraphURL)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{"very-secret-value", "dev-token-value", "refresh-token-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error leaks a secret: %s", err)
				}
			}
		})
	}
}

func TestConfigBadValues(t *testing.T) {
	for k, v := range map[string]string{"MSIDM_ADS_CUSTOMER_ID": "abc", "MSIDM_ADS_ACCOUNT_ID": "-4", "MSIDM_READ_ONLY": "maybe"} {
		_, err := loadEnv(envOf(map[string]string{k: v}))
		if err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: got %v", k, v, err)
		}
	}
}
