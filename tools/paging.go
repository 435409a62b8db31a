package tools

import (
	"encoding/base64"
	"encoding/json"
)

// Paging bounds every list result: a default and maximum page size, and a byte budget for
// the whole structured result so a page of long records cannot overflow a reply.
const (
	defaultLimit = 50
	maxLimit     = 500
	resultBudget = 16 << 10
)

// cursor is the opaque next_cursor of list tools. For Graph-backed lists URL is the page to
// fetch (the client refuses URLs outside its service root) and Skip the items of that page
// already returned; for unpaged APIs Skip is an offset into the sorted full list. Scope
// ties the cursor to the filter it was made for.
type cursor struct {
	URL   string `json:"u,omitempty"`
	Skip  int    `json:"s,omitempty"`
	Scope string `json:"f,omitempty"`
}

func (c cursor) encode() string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

func decodeCursor(s, scope string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Skip < 0 {
		return c, inputError("cursor is not a next_cursor returned by this tool; omit it to start from the first page")
	}
	if c.Scope != scope {
		return c, inputError("cursor belongs to a listing with different filters; repeat the same filters or omit cursor")
	}
	return c, nil
}

func limitOrDefault(n int) int {
	if n == 0 {
		return defaultLimit
	}
	return n
}

func validateLimit(n int) error {
	if n < 0 || n > maxLimit {
		return inputError("limit must be between 1 and %d (default %d)", maxLimit, defaultLimit)
	}
	return nil
}

// fitBudget returns how many of n items fit the result budget, at least one. size reports
// the encoded size of a result holding the first k items.
func fitBudget(n int, size func(k int) int) int {
	if n == 0 || size(n) <= resultBudget {
		return n
	}
	lo, hi := 1, n // size(hi) is over budget
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if size(mid) <= resultBudget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

func jsonSize(v any) int {
	raw, _ := json.Marshal(v)
	return len(raw)
}

// pageOf cuts one page out of a complete, sorted list: at most limit items after the cursor,
// trimmed to the result budget (wrap builds the result around a candidate page to measure
// it). It returns the page and the cursor of the next one ("" on the last page).
func pageOf[T any](all []T, cur cursor, limit int, wrap func([]T) any) ([]T, string) {
	page := all[min(cur.Skip, len(all)):]
	page = page[:min(limitOrDefault(limit), len(page))]
	n := fitBudget(len(page), func(k int) int { return jsonSize(wrap(page[:k])) })
	next := ""
	if cur.Skip+n < len(all) {
		next = cursor{Skip: cur.Skip + n, Scope: cur.Scope}.encode()
	}
	if page[:n] == nil {
		return []T{}, next
	}
	return page[:n], next
}
