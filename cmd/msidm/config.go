package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/msidm/msidm/clients/auth"
)

// config is everything msidm serve needs, read from MSIDM_* environment variables and
// overridden by flags. The names and meanings are a contract with operators and scripts.
type config struct {
	// serving
	Sandbox        bool
	HTTPAddr       string
	HTTPToken      string   // MSIDM_HTTP_TOKEN: bearer token required on HTTP
	AllowedOrigins []string // MSIDM_HTTP_ALLOWED_ORIGINS: extra browser origins besides localhost
	LogFormat      string
	LogLevel       string
	ReadOnly       bool
	Toolsets       []string
	Tools          []string
	StateDir       string
	PolicyFile     string // MSIDM_POLICY_FILE: the guard rails (YAML)
	SyncEvery      time.Duration

	// Microsoft endpoints (service roots)
	Cloud        string
	AuthorityURL string
	GraphURL     string
	AdsURL       string

	// Entra ID / Graph (app-only)
	TenantID     string
	ClientID     string
	ClientSecret string
	ClientCert   string
	// ManagedIdentity signs in to Graph with the Azure managed identity (MSIDM_MANAGED_IDENTITY).
	ManagedIdentity bool

	// Microsoft Advertising (delegated)
	AdsClientID       string
	AdsDeveloperToken string
	AdsCustomerID     int64
	AdsAccountID      int64
	AdsRefreshToken   string
	AdsEnvironment    string
	AdsProtocol       string
}

// Customer Management service roots (../shared/reference/ads/NOTES.md §1).
var adsRoots = map[string]string{
	"production": "https://clientcenter.api.bingads.microsoft.com",
	"sandbox":    "https://clientcenter.api.sandbox.bingads.microsoft.com",
}

// loadEnv reads the MSIDM_* variables through getenv (os.Getenv in production).
func loadEnv(getenv func(string) string) (config, error) {
	c := config{
		HTTPToken:         getenv("MSIDM_HTTP_TOKEN"),
		AllowedOrigins:    splitList(getenv("MSIDM_HTTP_ALLOWED_ORIGINS")),
		LogFormat:         orDefault(getenv("MSIDM_LOG_FORMAT"), "text"),
		LogLevel:          orDefault(getenv("MSIDM_LOG_LEVEL"), "info"),
		Toolsets:          splitList(getenv("MSIDM_TOOLSETS")),
		Tools:             splitList(getenv("MSIDM_TOOLS")),
		StateDir:          getenv("MSIDM_STATE_DIR"),
		PolicyFile:        getenv("MSIDM_POLICY_FILE"),
		Cloud:             orDefault(getenv("MSIDM_CLOUD"), "public"),
		AuthorityURL:      getenv("MSIDM_AUTHORITY_URL"),
		GraphURL:          getenv("MSIDM_GRAPH_URL"),
		AdsURL:            getenv("MSIDM_ADS_URL"),
		TenantID:          getenv("MSIDM_TENANT_ID"),
		ClientID:          getenv("MSIDM_CLIENT_ID"),
		ClientSecret:      getenv("MSIDM_CLIENT_SECRET"),
		ClientCert:        getenv("MSIDM_CLIENT_CERT"),
		AdsClientID:       getenv("MSIDM_ADS_CLIENT_ID"),
		AdsDeveloperToken: getenv("MSIDM_ADS_DEVELOPER_TOKEN"),
		AdsRefreshToken:   getenv("MSIDM_ADS_REFRESH_TOKEN"),
		AdsEnvironment:    orDefault(getenv("MSIDM_ADS_ENVIRONMENT"), "production"),
		AdsProtocol:       orDefault(getenv("MSIDM_ADS_PROTOCOL"), "soap"),
	}
	var err error
	if c.ReadOnly, err = parseBool("MSIDM_READ_ONLY", getenv("MSIDM_READ_ONLY")); err != nil {
		return c, err
	}
	if v := getenv("MSIDM_SYNC_EVERY"); v != "" {
		if c.SyncEvery, err = time.ParseDuration(v); err != nil || c.SyncEvery < 0 {
			return c, fmt.Errorf("MSIDM_SYNC_EVERY=%q is not a duration; use for example 10m", v)
		}
	}
	if c.ManagedIdentity, err = parseBool("MSIDM_MANAGED_IDENTITY", getenv("MSIDM_MANAGED_IDENTITY")); err != nil {
		return c, err
	}
	if c.AdsCustomerID, err = parseID("MSIDM_ADS_CUSTOMER_ID", getenv("MSIDM_ADS_CUSTOMER_ID")); err != nil {
		return c, err
	}
	if c.AdsAccountID, err = parseID("MSIDM_ADS_ACCOUNT_ID", getenv("MSIDM_ADS_ACCOUNT_ID")); err != nil {
		return c, err
	}
	return c, nil
}

// resolve fills defaults that depend on other settings and checks every value. needEntra and
// needAds say which systems the selected toolsets use; a system not needed is not checked.
func (c *config) resolve(needEntra, needAds bool) error {
	cloud, ok := auth.Clouds[c.Cloud]
	if !ok {
		return fmt.Errorf("MSIDM_CLOUD=%q is not a known cloud; use public, usgov or china", c.Cloud)
	}
	c.AuthorityURL = orDefault(c.AuthorityURL, cloud.AuthorityURL)
	c.GraphURL = orDefault(c.GraphURL, cloud.GraphURL)
	root, ok := adsRoots[c.AdsEnvironment]
	if !ok {
		return fmt.Errorf("MSIDM_ADS_ENVIRONMENT=%q is not valid; use production or sandbox", c.AdsEnvironment)
	}
	c.AdsURL = orDefault(c.AdsURL, root)
	c.AdsClientID = orDefault(c.AdsClientID, c.ClientID)
	if c.StateDir == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			c.StateDir = filepath.Join(dir, "msidm")
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log format %q is not valid; use --log-format text or json (MSIDM_LOG_FORMAT)", c.LogFormat)
	}
	if c.Sandbox {
		return nil // the sandbox supplies every credential and endpoint itself
	}
	var missing []string
	if needEntra && !c.ManagedIdentity {
		missing = appendMissing(missing, "MSIDM_TENANT_ID", c.TenantID)
		missing = appendMissing(missing, "MSIDM_CLIENT_ID", c.ClientID)
		if c.ClientCert == "" {
			missing = appendMissing(missing, "MSIDM_CLIENT_SECRET (or MSIDM_CLIENT_CERT)", c.ClientSecret)
		}
	}
	if needAds {
		if c.AdsProtocol != "soap" && c.AdsProtocol != "rest" {
			return fmt.Errorf("MSIDM_ADS_PROTOCOL=%q is not valid; use soap (the default) or rest", c.AdsProtocol)
		}
		missing = appendMissing(missing, "MSIDM_ADS_CLIENT_ID (or MSIDM_CLIENT_ID)", c.AdsClientID)
		missing = appendMissing(missing, "MSIDM_ADS_DEVELOPER_TOKEN", c.AdsDeveloperToken)
		if c.AdsRefreshToken == "" && !c.storedAdsToken() {
			missing = append(missing, "MSIDM_ADS_REFRESH_TOKEN (or run 'msidm login ads')")
		}
		if c.AdsCustomerID == 0 {
			missing = append(missing, "MSIDM_ADS_CUSTOMER_ID")
		}
	}
	if len(missing) > 0 {
		skip := ""
		switch {
		case needEntra && !needAds:
		case needAds && !needEntra:
		default:
			skip = ", or limit msidm to one system with --toolsets entra or --toolsets ads"
		}
		return fmt.Errorf("missing configuration: set %s (or run 'msidm serve --sandbox' to try msidm without a Microsoft account%s)",
			strings.Join(missing, ", "), skip)
	}
	return nil
}

func appendMissing(missing []string, name, value string) []string {
	if value == "" {
		return append(missing, name)
	}
	return missing
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

func parseBool(name, v string) (bool, error) {
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean; use true or false", name, v)
	}
	return b, nil
}

func parseID(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s=%q is not a numeric id; use the number shown in the Microsoft Advertising web UI (for example 251000101)", name, v)
	}
	return n, nil
}

// storedAdsToken reports whether 'msidm login ads' (or an earlier rotation) left a refresh
// token under the state directory; the token store then wins over MSIDM_ADS_REFRESH_TOKEN.
func (c *config) storedAdsToken() bool {
	if c.StateDir == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(c.StateDir, auth.AdsTokenFile))
	return err == nil
}
