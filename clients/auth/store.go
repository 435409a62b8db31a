package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// AdsTokenFile is the refresh-token file's name under the state directory.
// AdsTokenFile is the file under the state directory that holds the Ads refresh token.
const AdsTokenFile = "ads-refresh-token.json"

// TokenStore keeps the Microsoft Advertising refresh token in a file only its owner can read
// (0600, in a 0700 directory), replaced atomically so a crash never leaves half a token.
type TokenStore struct {
	path string
	mu   sync.Mutex
}

type storedToken struct {
	RefreshToken string    `json:"refresh_token"`
	SavedAt      time.Time `json:"saved_at"`
}

// NewTokenStore returns the store under dir (MSIDM_STATE_DIR), creating dir with mode 0700
// if it does not exist.
func NewTokenStore(dir string) (*TokenStore, error) {
	if dir == "" {
		return nil, errors.New("token store: no state directory (set MSIDM_STATE_DIR)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("token store: %w", err)
	}
	return &TokenStore{path: filepath.Join(dir, AdsTokenFile)}, nil
}

// Path is the file the token lives in.
func (s *TokenStore) Path() string { return s.path }

// Load returns the stored refresh token, or "" when none was saved yet. A file that others
// can read is refused: the token may already have leaked, and it grants the user's access.
func (s *TokenStore) Load() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("token store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token store: %w", err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("token store: %s is accessible to other users (mode %v); run chmod 600 on it", s.path, fi.Mode().Perm())
	}
	var st storedToken
	if err := json.NewDecoder(f).Decode(&st); err != nil {
		return "", fmt.Errorf("token store: %s is not a token file: %v", s.path, jsonErrNoData(err))
	}
	return st.RefreshToken, nil
}

// Save replaces the stored token: a temporary file in the same directory, synced, then
// renamed over the old one, and the directory synced so the rename survives a crash.
func (s *TokenStore) Save(refreshToken string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := json.Marshal(storedToken{RefreshToken: refreshToken, SavedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+AdsTokenFile+".*") // created 0600
	if err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("token store: %w", err)
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		_ = os.Remove(tmp.Name())
		done = true
		return fmt.Errorf("token store: %w", err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: not supported on every platform
		_ = d.Close()
	}
	return nil
}

// jsonErrNoData keeps a decoding error's kind but not the text it quotes: a syntax error
// message can include part of the file, which holds a token.
func jsonErrNoData(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "unexpected JSON type for " + te.Field
	}
	return "unreadable"
}
