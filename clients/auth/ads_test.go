package auth

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "msidm")
	s, err := NewTokenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rt, err := s.Load(); rt != "" || err != nil {
		t.Fatalf("empty store: %q, %v", rt, err)
	}
	for _, rt := range []string{"rt-SECRET-one", "rt-SECRET-two"} {
		if err := s.Save(rt); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(); got != rt || err != nil {
			t.Fatalf("Load = %q, %v; want %q", got, err, rt)
		}
	}
	if runtime.GOOS != "windows" {
		di, _ := os.Stat(dir)
		fi, _ := os.Stat(s.Path())
		if di.Mode().Perm() != 0o700 || fi.Mode().Perm() != 0o600 {
			t.Fatalf("modes dir %v file %v", di.Mode().Perm(), fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}

	t.Run("readable by others is refused", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no Unix modes")
		}
		if err := os.Chmod(s.Path(), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(s.Path(), 0o600)
		if _, err := s.Load(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("corrupt file error quotes nothing", func(t *testing.T) {
		if err := os.WriteFile(s.Path(), []byte(`{"refresh_token": rt-SECRET-broken`), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load()
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("save into a vanished directory fails", func(t *testing.T) {
		gone, _ := NewTokenStore(filepath.Join(t.TempDir(), "gone"))
		_ = os.RemoveAll(filepath.Dir(gone.Path()))
		if err := gone.Save("rt-SECRET-x"); err == nil {
			t.Fatal("no error")
		}
	})
	if _, err := NewTokenStore(""); err == nil {
		t.Fatal("empty dir accepted")
	}
}

func adsCreds(f *fakeIDP, rt string, store *TokenStore) DelegatedCredentials {
	return DelegatedCredentials{AuthorityURL: f.srv.URL, TenantID: testTenant, ClientID: testClient,
		RefreshToken: rt, Scope: AdsScope, Store: store}
}

func TestAdsTokenSourceRotationPersistedFirst(t *testing.T) {
	f := newFakeIDP(t)
	f.refreshTokens["rt-SECRET-bootstrap"] = true
	store, _ := NewTokenStore(t.TempDir())
	var rotated []string
	var ts *AdsSource
	ts = AdsTokenSource(nil, adsCreds(f, "rt-SECRET-bootstrap", store), func(rt string) {
		rotated = append(rotated, rt)
		// Registration happens before the token replaces the old one and before any save.
		if saved, _ := store.Load(); saved == rt {
			t.Errorf("onRotate called after saving")
		}
	})
	for i := range 3 {
		tok, err := ts.Token()
		if err != nil {
			t.Fatal(err)
		}
		saved, _ := store.Load()
		if saved != tok.RefreshToken || saved != rotated[len(rotated)-1] {
			t.Fatalf("round %d: saved %q, token carries %q, rotated %v", i, saved, tok.RefreshToken, rotated)
		}
		if got := f.forms[len(f.forms)-1].Get("scope"); got != AdsScope {
			t.Fatalf("refresh scope %q", got)
		}
		ts.Invalidate()
	}
	if n := f.calls("refresh_token"); n != 3 {
		t.Fatalf("%d refreshes", n)
	}
}

func TestAdsTokenSourceSaveFailure(t *testing.T) {
	f := newFakeIDP(t)
	f.refreshTokens["rt-SECRET-bootstrap"] = true
	store, _ := NewTokenStore(filepath.Join(t.TempDir(), "state"))
	_ = os.RemoveAll(filepath.Dir(store.Path()))
	ts := AdsTokenSource(nil, adsCreds(f, "rt-SECRET-bootstrap", store), nil)
	tok, err := ts.Token()
	var ae *Error
	if tok != nil || !errors.As(err, &ae) || !strings.Contains(err.Error(), "saving the rotated refresh token") {
		t.Fatalf("token %v err %v", tok, err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("error leaks: %v", err)
	}
	// The old refresh token is kept, and works once the directory is back.
	if err := os.MkdirAll(filepath.Dir(store.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Token(); err != nil {
		t.Fatal(err)
	}
	if f.forms[1].Get("refresh_token") != "rt-SECRET-bootstrap" {
		t.Fatalf("second refresh used %q", f.forms[1].Get("refresh_token"))
	}
}

func TestAdsTokenSourceConcurrentRefreshCollapses(t *testing.T) {
	f := newFakeIDP(t)
	f.refreshTokens["rt-SECRET-bootstrap"] = true
	f.refreshDelay = 50 * time.Millisecond
	ts := AdsTokenSource(nil, adsCreds(f, "rt-SECRET-bootstrap", nil), nil)
	for round, want := range []int{1, 2} {
		var wg sync.WaitGroup
		tokens := make([]string, 20)
		for i := range tokens {
			wg.Go(func() {
				tok, err := ts.Token()
				if err != nil {
					t.Error(err)
					return
				}
				tokens[i] = tok.AccessToken
			})
		}
		wg.Wait()
		for _, tok := range tokens {
			if tok != tokens[0] {
				t.Fatalf("round %d: callers got different tokens %v", round, tokens)
			}
		}
		if n := f.calls("refresh_token"); n != want {
			t.Fatalf("round %d: %d refreshes, want %d", round, n, want)
		}
		// Many callers failed with the same token: only the first invalidation refreshes.
		for range 5 {
			ts.InvalidateToken(tokens[0])
		}
	}
}

func TestAdsTokenSourceStoreAndBootstrap(t *testing.T) {
	tests := []struct {
		name        string
		stored      string
		valid       []string
		bootstrap   string
		wantUsed    []string // refresh tokens sent, in order
		wantErrCode string
	}{
		{"stored token wins", "rt-SECRET-stored", []string{"rt-SECRET-stored", "rt-SECRET-boot"}, "rt-SECRET-boot", []string{"rt-SECRET-stored"}, ""},
		{"refused stored token falls back to the bootstrap", "rt-SECRET-stored", []string{"rt-SECRET-boot"}, "rt-SECRET-boot", []string{"rt-SECRET-stored", "rt-SECRET-boot"}, ""},
		{"empty store uses the bootstrap", "", []string{"rt-SECRET-boot"}, "rt-SECRET-boot", []string{"rt-SECRET-boot"}, ""},
		{"stored token without bootstrap", "rt-SECRET-stored", []string{"rt-SECRET-stored"}, "", []string{"rt-SECRET-stored"}, ""},
		{"both refused", "rt-SECRET-stored", nil, "rt-SECRET-boot", []string{"rt-SECRET-stored", "rt-SECRET-boot"}, "AADSTS70000"},
		{"nothing at all", "", nil, "", nil, "no refresh token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeIDP(t)
			for _, rt := range tt.valid {
				f.refreshTokens[rt] = true
			}
			store, _ := NewTokenStore(t.TempDir())
			if tt.stored != "" {
				_ = store.Save(tt.stored)
			}
			var seen []string
			ts := AdsTokenSource(nil, adsCreds(f, tt.bootstrap, store), func(rt string) { seen = append(seen, rt) })
			_, err := ts.Token()
			if tt.wantErrCode != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrCode) {
					t.Fatalf("err %v, want %s", err, tt.wantErrCode)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var used []string
			for _, form := range f.forms {
				used = append(used, form.Get("refresh_token"))
			}
			if strings.Join(used, ",") != strings.Join(tt.wantUsed, ",") {
				t.Fatalf("refresh tokens sent %v, want %v", used, tt.wantUsed)
			}
			if tt.stored != "" && tt.stored != tt.bootstrap && (len(seen) == 0 || seen[0] != tt.stored) {
				t.Fatalf("the stored token was not registered first: %v", seen)
			}
		})
	}
}

func TestAdsTokenSourceExpiry(t *testing.T) {
	f := newFakeIDP(t)
	f.refreshTokens["rt-SECRET-bootstrap"] = true
	ts := AdsTokenSource(nil, adsCreds(f, "rt-SECRET-bootstrap", nil), nil)
	now := time.Now()
	ts.now = func() time.Time { return now }
	tests := []struct {
		advance time.Duration
		want    int
	}{
		{0, 1}, {30 * time.Minute, 1}, {3599*time.Second - expiryMargin - time.Second, 1}, {3599*time.Second - expiryMargin + time.Second, 2},
	}
	start := now
	for _, tt := range tests {
		now = start.Add(tt.advance)
		if _, err := ts.Token(); err != nil {
			t.Fatal(err)
		}
		if n := f.calls("refresh_token"); n != tt.want {
			t.Fatalf("after %v: %d refreshes, want %d", tt.advance, n, tt.want)
		}
	}
}
