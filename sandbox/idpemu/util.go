package idpemu

import (
	"crypto/subtle"
	"net/url"
)

func secretEqual(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func urlUnescape(s string) (string, error) { return url.QueryUnescape(s) }
