package graphemu

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// skipTokens makes and checks the opaque $skiptoken of /users pages.
//
// Real directory skiptokens look like X'445370740200…' — hex in an OData binary literal,
// starting with "DSpt" (NOTES §1.1 [paging]). These imitate that: "DSpt", a version byte, the
// position key (the last id returned) and a truncated HMAC, so a garbled or forged token is
// detected and answered with 400 rather than silently restarting the listing. Clients must not
// look inside; only the emulator reads the key back.
type skipTokens struct{ key []byte }

const skipTokenMagic = "DSpt\x01"

func newSkipTokens() skipTokens {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return skipTokens{key: k}
}

func (s skipTokens) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)[:8]
}

// encode returns the token that resumes after lastID.
func (s skipTokens) encode(lastID string) string {
	b := make([]byte, 0, len(skipTokenMagic)+1+len(lastID)+8)
	b = append(b, skipTokenMagic...)
	b = append(b, byte(len(lastID)))
	b = append(b, lastID...)
	b = append(b, s.mac(b)...)
	return "X'" + strings.ToUpper(hex.EncodeToString(b)) + "'"
}

// decode returns the position key of a token made by encode.
func (s skipTokens) decode(tok string) (string, bool) {
	inner, ok := strings.CutPrefix(tok, "X'")
	if !ok {
		return "", false
	}
	if inner, ok = strings.CutSuffix(inner, "'"); !ok {
		return "", false
	}
	b, err := hex.DecodeString(inner)
	n := len(skipTokenMagic)
	if err != nil || len(b) < n+1+8 || string(b[:n]) != skipTokenMagic {
		return "", false
	}
	idLen := int(b[n])
	if len(b) != n+1+idLen+8 {
		return "", false
	}
	body, sum := b[:n+1+idLen], b[n+1+idLen:]
	if !hmac.Equal(sum, s.mac(body)) {
		return "", false
	}
	return string(body[n+1:]), true
}
